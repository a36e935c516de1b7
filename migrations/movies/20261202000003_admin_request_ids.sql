-- CreateMovie and CreateTheatre are idempotent on an optional client-chosen request id,
-- like CreateShowtime: a retry gets the movie or theatre it made, never a second one,
-- and a different request under the same id is refused (see the kit's idempotency).
alter table movies
    add column request_id text unique check (length(request_id) between 1 and 64),
    add column request_fingerprint bytea check (length(request_fingerprint) = 32),
    add constraint movies_request_consistent
        check ((request_id is null) = (request_fingerprint is null));

alter table theatres
    add column request_id text unique check (length(request_id) between 1 and 64),
    add column request_fingerprint bytea check (length(request_fingerprint) = 32),
    add constraint theatres_request_consistent
        check ((request_id is null) = (request_fingerprint is null));
