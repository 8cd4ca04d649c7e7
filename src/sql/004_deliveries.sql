-- Schema of ngx_http_jira_sync_module, version 4: repeated and stale
-- webhook deliveries.
--
-- Jira Server/DC may deliver one change more than once (several
-- registered webhooks, retries by a proxy) and out of order.  A change is
-- applied once per integration and changelog id, and an assignee change
-- older than the last one applied to an external issue is dropped
-- (external_issue.provider_assignee_updated_at, as in Sentry).

SET search_path = jira_sync;

CREATE TABLE webhook_delivery (
    integration_id  bigint NOT NULL REFERENCES integration (id)
                        ON DELETE CASCADE,
    changelog_id    text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, changelog_id)
);
CREATE INDEX webhook_delivery_received_idx
    ON webhook_delivery (integration_id, received_at);

INSERT INTO schema_migrations (version) VALUES (4);
