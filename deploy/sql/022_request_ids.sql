-- 022_request_ids: the request that made a job (issue 15, the access
-- log): the API's x-request-id, kept with the job so the worker that runs
-- it logs under the same id and one id follows a change from the API
-- through the workers. NULL for jobs made by no request.
ALTER TABLE rekindle.jobs ADD COLUMN request_id text
    CHECK (length(request_id) <= 64);
