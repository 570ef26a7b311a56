-- 012_timer_claims: the near future a timer process claims is found by
-- an index of unclaimed pending timers only, so claiming never walks
-- over the timers other processes already hold; expired claims are
-- found by their own index and released (the claimer died).
DROP INDEX rekindle.timers_due;
CREATE INDEX timers_unclaimed ON rekindle.timers (due_at)
    WHERE state = 'pending' AND claimed_by IS NULL;
CREATE INDEX timers_claims ON rekindle.timers (claimed_until)
    WHERE state = 'pending' AND claimed_by IS NOT NULL;
