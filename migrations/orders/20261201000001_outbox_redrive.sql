-- An operator can redrive an exhausted message: it gets a fresh retry schedule, while
-- the attempts it already made stay counted (and recorded in outbox_attempts, keyed by
-- attempt number, which therefore keeps growing).
alter table outbox
    -- `attempts` at the latest redrive: the schedule and the attempt budget count from it.
    add column attempts_before_redrive integer not null default 0
        check (attempts_before_redrive >= 0 and attempts_before_redrive <= attempts),
    add column redriven_at timestamptz;

-- ListOutbox's filters, newest first.
create index outbox_status_idx on outbox (status, id desc);
