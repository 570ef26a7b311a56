-- One refresher of a provider's pair across the pool (zns.c): a process
-- takes this lease - committed, not a lock held across the call - before
-- it spends the refresh token, and the others wait for the new pair to
-- appear here. Zalo's refresh token is single-use (hexasync.vn, "Zalo OA
-- API: Huong dan cach lay Access Token tu Refresh token": "Refresh token
-- chi co the su dung 1 lan"): two processes refreshing with it at once
-- had one of them refused. A refresher that fails lets go at once; one
-- that died is outlived by the lease (the refresh call's timeout + 5 s).
ALTER TABLE rekindle.provider_tokens ADD COLUMN refreshing_until timestamptz;
