SET search_path = jira_sync;

-- Schema of ngx_http_jira_sync_module, version 5: the outbox of outbound
-- assignee sync.
--
-- An assign or deassign applied from one integration's webhook writes, in
-- the same transaction, one row per external issue that must learn of it
-- (Sentry queues a sync_assignee_outbound task instead).  Every nginx
-- worker drains the table: it claims the oldest due row of an external
-- issue whose earlier rows are all finished, with FOR UPDATE SKIP LOCKED,
-- calls Jira, and records the outcome (docs/sync.md).
--
-- status:
--   pending  waiting for its first attempt, or for next_attempt_at
--   done     Jira took the change (delivered_at)
--   failed   Jira's answer says the change cannot be made (no matching
--            Jira user, 400, 404): not retried
--   dead     every attempt failed (jira_sync_outbox_max_attempts)
--   skipped  by delivery time the integration was inactive or removed,
--            the external issue deleted, or the sync switch or feature
--            flag turned off
--
-- external_issue_id has no foreign key on purpose: checking one would
-- share-lock the target issue's row, which a webhook of the other Jira
-- locks (jira_guard.c) before it locks the group, and the two webhooks
-- would deadlock.  A row whose issue is gone is skipped at delivery.
CREATE TABLE assignee_outbox (
    id                     bigserial PRIMARY KEY,
    external_issue_id      bigint NOT NULL,
    integration_id         bigint NOT NULL REFERENCES integration (id)
                               ON DELETE CASCADE,
    -- the group whose assignee changed, and the integration the change
    -- came from (never the target: no echo); both kept as history
    group_id               bigint NOT NULL,
    source_integration_id  bigint,
    assign                 boolean NOT NULL,
    user_id                bigint REFERENCES app_user (id)
                               ON DELETE SET NULL,
    status                 text NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'done',
                                                 'failed', 'dead',
                                                 'skipped')),
    attempts               integer NOT NULL DEFAULT 0,
    next_attempt_at        timestamptz NOT NULL DEFAULT now(),
    last_error             text,
    jira_user              text,         -- the Jira user name assigned
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    delivered_at           timestamptz,
    CHECK (source_integration_id IS DISTINCT FROM integration_id),
    CHECK (assign OR user_id IS NULL)
);

-- the drain: pending rows in id order, and "no earlier pending row of
-- this external issue"
CREATE INDEX assignee_outbox_pending_idx
    ON assignee_outbox (id) WHERE status = 'pending';
CREATE INDEX assignee_outbox_issue_idx
    ON assignee_outbox (external_issue_id, id);

-- what needs the operator: metrics and the replay SQL of docs/sync.md
CREATE INDEX assignee_outbox_attention_idx
    ON assignee_outbox (status, id) WHERE status IN ('failed', 'dead');

-- finished rows are deleted after jira_sync_outbox_keep
CREATE INDEX assignee_outbox_finished_idx
    ON assignee_outbox (updated_at) WHERE status IN ('done', 'skipped');

-- foreign keys whose parent deletion must not scan the table
CREATE INDEX assignee_outbox_integration_idx
    ON assignee_outbox (integration_id);
CREATE INDEX assignee_outbox_user_idx
    ON assignee_outbox (user_id) WHERE user_id IS NOT NULL;

INSERT INTO schema_migrations (version) VALUES (5);
