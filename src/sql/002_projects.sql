-- Schema of ngx_http_jira_sync_module, version 2: projects.
--
-- The outbox that records project deletions (Sentry's RegionOutbox) and
-- the counters behind snowflake project ids (Sentry keeps them in Redis).

SET search_path = jira_sync;

-- Sentry's sentry_regionoutbox.  shard_scope 0 is ORGANIZATION_SCOPE,
-- category 8 is PROJECT_UPDATE; a consumer takes the rows of one shard
-- (scope, identifier) in id order once scheduled_for has passed.
CREATE TABLE region_outbox (
    id                 bigserial PRIMARY KEY,
    shard_scope        integer NOT NULL,
    shard_identifier   bigint NOT NULL,
    category           integer NOT NULL,
    object_identifier  bigint NOT NULL,
    payload            jsonb,
    scheduled_from     timestamptz NOT NULL DEFAULT now(),
    scheduled_for      timestamptz NOT NULL DEFAULT now(),
    date_added         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX region_outbox_shard_idx
    ON region_outbox (shard_scope, shard_identifier, id);
CREATE INDEX region_outbox_scheduled_idx
    ON region_outbox (scheduled_for);

-- One counter per region and second since the snowflake epoch
-- (2022-08-08 00:00 UTC): value is the number of ids handed out for that
-- second, so the next sequence number is value (0..15 fit the id).
-- Counters older than 300 seconds are deleted when a new second starts.
CREATE TABLE snowflake_sequence (
    region  integer NOT NULL CHECK (region BETWEEN 0 AND 4095),
    stamp   bigint NOT NULL,
    value   bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (region, stamp)
);

INSERT INTO schema_migrations (version) VALUES (2);
