SET search_path = jira_sync;

-- Schema of ngx_http_jira_sync_module, version 3: integration setup.
--
-- An unfinished Jira Server setup (Sentry keeps this pipeline state in
-- the user's session).  Kept here so that any worker of any node can
-- finish it: the API step by the pipeline id, the browser callback by
-- the request token Jira redirects with.
--
-- state is the installation data and the request token with its secret,
-- sealed with AES-256-GCM under jira_sync_secret_key_file; it is wiped
-- once the setup finished.  The request token is kept only as SHA-256,
-- unique so that one token finds one pipeline.  claimed_at makes a
-- pipeline single-use; a finished one keeps its integration until it
-- expires, so that repeating the last step answers the same result.
CREATE TABLE setup_pipeline (
    id                  text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    provider            text NOT NULL DEFAULT 'jira_server',
    organization_id     bigint NOT NULL REFERENCES organization (id)
                            ON DELETE CASCADE,
    user_id             bigint NOT NULL REFERENCES app_user (id)
                            ON DELETE CASCADE,
    request_token_hash  bytea NOT NULL UNIQUE
                            CHECK (length(request_token_hash) = 32),
    state               bytea NOT NULL,
    claimed_at          timestamptz,
    integration_id      bigint REFERENCES integration (id)
                            ON DELETE CASCADE,
    date_added          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL
);
CREATE INDEX setup_pipeline_expires_idx ON setup_pipeline (expires_at);
CREATE INDEX setup_pipeline_organization_idx
    ON setup_pipeline (organization_id);
CREATE INDEX setup_pipeline_user_idx ON setup_pipeline (user_id);
CREATE INDEX setup_pipeline_integration_idx
    ON setup_pipeline (integration_id);

INSERT INTO schema_migrations (version) VALUES (3);
