-- Schema of ngx_http_jira_sync_module, version 1.
--
-- Modelled on Sentry's tables (docs/schema.md maps the names).  Every rule
-- that must hold under concurrency is a constraint here, not a check in C.

CREATE SCHEMA IF NOT EXISTS jira_sync;
SET search_path = jira_sync;

CREATE TABLE schema_migrations (
    version     integer PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- organizations; feature flags are columns the operator sets
CREATE TABLE organization (
    id                       bigserial PRIMARY KEY,
    slug                     text NOT NULL UNIQUE,
    name                     text NOT NULL,
    integrations_issue_sync  boolean NOT NULL DEFAULT false,
    date_added               timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app_user (
    id          bigserial PRIMARY KEY,
    username    text NOT NULL UNIQUE,
    name        text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',      -- primary email
    is_active   boolean NOT NULL DEFAULT true,
    date_joined timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_email (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    email        text NOT NULL,
    is_verified  boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX user_email_user_lower_key
    ON user_email (user_id, lower(email));
CREATE INDEX user_email_lower_idx ON user_email (lower(email));

CREATE TABLE team (
    id               bigserial PRIMARY KEY,
    organization_id  bigint NOT NULL REFERENCES organization (id)
                         ON DELETE CASCADE,
    slug             text NOT NULL,
    name             text NOT NULL,
    UNIQUE (organization_id, slug)
);

CREATE TABLE organization_member (
    id               bigserial PRIMARY KEY,
    organization_id  bigint NOT NULL REFERENCES organization (id)
                         ON DELETE CASCADE,
    user_id          bigint REFERENCES app_user (id) ON DELETE CASCADE,
    role             text NOT NULL DEFAULT 'member',
    UNIQUE (organization_id, user_id)
);
CREATE INDEX organization_member_user_idx ON organization_member (user_id);

CREATE TABLE organization_member_team (
    id                     bigserial PRIMARY KEY,
    organizationmember_id  bigint NOT NULL
                               REFERENCES organization_member (id)
                               ON DELETE CASCADE,
    team_id                bigint NOT NULL REFERENCES team (id)
                               ON DELETE CASCADE,
    is_active              boolean NOT NULL DEFAULT true,
    UNIQUE (organizationmember_id, team_id)
);
CREATE INDEX organization_member_team_team_idx
    ON organization_member_team (team_id);

-- ids come from this sequence unless snowflake ids are enabled
CREATE SEQUENCE project_id_seq;

CREATE TABLE project (
    id               bigint PRIMARY KEY DEFAULT nextval('project_id_seq'),
    organization_id  bigint NOT NULL REFERENCES organization (id)
                         ON DELETE CASCADE,
    slug             text NOT NULL CHECK (length(slug) BETWEEN 1 AND 100),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status           integer NOT NULL DEFAULT 0,
    date_added       timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE project_id_seq OWNED BY project.id;
-- Sentry compares slugs with iexact: the index makes that a rule
CREATE UNIQUE INDEX project_org_slug_key
    ON project (organization_id, lower(slug));

CREATE TABLE project_team (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    team_id     bigint NOT NULL REFERENCES team (id) ON DELETE CASCADE,
    UNIQUE (project_id, team_id)
);
CREATE INDEX project_team_team_idx ON project_team (team_id);

-- Sentry's sentry_groupedmessage; status 0 unresolved, 1 resolved, 2 ignored
CREATE TABLE issue_group (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    title       text NOT NULL DEFAULT '',
    status      integer NOT NULL DEFAULT 0,
    substatus   integer,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX issue_group_project_idx ON issue_group (project_id);

-- one row per group, and exactly one of user and team
CREATE TABLE group_assignee (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    group_id    bigint NOT NULL UNIQUE REFERENCES issue_group (id)
                    ON DELETE CASCADE,
    user_id     bigint REFERENCES app_user (id) ON DELETE CASCADE,
    team_id     bigint REFERENCES team (id) ON DELETE CASCADE,
    date_added  timestamptz NOT NULL DEFAULT now(),
    CHECK ((user_id IS NULL) <> (team_id IS NULL))
);
CREATE INDEX group_assignee_user_idx ON group_assignee (user_id);
CREATE INDEX group_assignee_team_idx ON group_assignee (team_id);

-- reason 2 is "assigned"
CREATE TABLE group_subscription (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    group_id    bigint NOT NULL REFERENCES issue_group (id)
                    ON DELETE CASCADE,
    user_id     bigint REFERENCES app_user (id) ON DELETE CASCADE,
    team_id     bigint REFERENCES team (id) ON DELETE CASCADE,
    is_active   boolean NOT NULL DEFAULT true,
    reason      integer NOT NULL DEFAULT 0,
    date_added  timestamptz NOT NULL DEFAULT now(),
    CHECK ((user_id IS NULL) <> (team_id IS NULL)),
    UNIQUE (group_id, user_id),
    UNIQUE (group_id, team_id)
);

-- type 11 ASSIGNED, 12 UNASSIGNED (and Sentry's other activity types)
CREATE TABLE activity (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    group_id    bigint REFERENCES issue_group (id) ON DELETE CASCADE,
    type        integer NOT NULL,
    ident       text,
    user_id     bigint REFERENCES app_user (id) ON DELETE SET NULL,
    datetime    timestamptz NOT NULL DEFAULT now(),
    data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX activity_group_idx ON activity (group_id, datetime);
CREATE INDEX activity_project_idx ON activity (project_id);

-- status 5 ASSIGNED, 6 UNASSIGNED (and Sentry's other history statuses)
CREATE TABLE group_history (
    id               bigserial PRIMARY KEY,
    organization_id  bigint NOT NULL REFERENCES organization (id)
                         ON DELETE CASCADE,
    project_id       bigint NOT NULL REFERENCES project (id)
                         ON DELETE CASCADE,
    group_id         bigint NOT NULL REFERENCES issue_group (id)
                         ON DELETE CASCADE,
    status           integer NOT NULL,
    user_id          bigint REFERENCES app_user (id) ON DELETE SET NULL,
    team_id          bigint REFERENCES team (id) ON DELETE SET NULL,
    prev_history_id  bigint REFERENCES group_history (id) ON DELETE SET NULL,
    date_added       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX group_history_group_idx ON group_history (group_id, date_added);
CREATE INDEX group_history_project_idx ON group_history (project_id);

-- status 0 active, 1 disabled, 2 pending deletion
CREATE TABLE integration (
    id           bigserial PRIMARY KEY,
    provider     text NOT NULL,
    external_id  varchar(64) NOT NULL,
    name         text NOT NULL,
    metadata     jsonb NOT NULL DEFAULT '{}',
    status       integer NOT NULL DEFAULT 0,
    date_added   timestamptz NOT NULL DEFAULT now(),
    date_updated timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, external_id)
);

CREATE TABLE identity_provider (
    id           bigserial PRIMARY KEY,
    type         text NOT NULL,
    external_id  varchar(64) NOT NULL,
    config       jsonb NOT NULL DEFAULT '{}',
    UNIQUE (type, external_id)
);

-- credentials are encrypted by the module before they reach this table
CREATE TABLE identity (
    id             bigserial PRIMARY KEY,
    idp_id         bigint NOT NULL REFERENCES identity_provider (id)
                       ON DELETE CASCADE,
    user_id        bigint REFERENCES app_user (id) ON DELETE CASCADE,
    external_id    text NOT NULL,
    credentials    bytea,
    scopes         text[] NOT NULL DEFAULT '{}',
    status         integer NOT NULL DEFAULT 1,
    date_verified  timestamptz NOT NULL DEFAULT now(),
    date_added     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (idp_id, external_id),
    UNIQUE (idp_id, user_id)
);

CREATE TABLE organization_integration (
    id               bigserial PRIMARY KEY,
    organization_id  bigint NOT NULL REFERENCES organization (id)
                         ON DELETE CASCADE,
    integration_id   bigint NOT NULL REFERENCES integration (id)
                         ON DELETE CASCADE,
    config           jsonb NOT NULL DEFAULT '{}',
    status           integer NOT NULL DEFAULT 0,
    default_auth_id  bigint REFERENCES identity (id) ON DELETE SET NULL,
    date_added       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, integration_id)
);
CREATE INDEX organization_integration_integration_idx
    ON organization_integration (integration_id);

CREATE TABLE external_issue (
    id                            bigserial PRIMARY KEY,
    organization_id               bigint NOT NULL
                                      REFERENCES organization (id)
                                      ON DELETE CASCADE,
    integration_id                bigint NOT NULL
                                      REFERENCES integration (id)
                                      ON DELETE CASCADE,
    key                           varchar(256) NOT NULL,
    title                         text,
    description                   text,
    metadata                      jsonb,
    provider_assignee_updated_at  timestamptz,
    date_added                    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, integration_id, key)
);
CREATE INDEX external_issue_integration_key_idx
    ON external_issue (integration_id, key);

-- linked_type 1 commit, 2 pull request, 3 issue;
-- relationship 1 resolves, 2 references
CREATE TABLE group_link (
    id            bigserial PRIMARY KEY,
    group_id      bigint NOT NULL REFERENCES issue_group (id)
                      ON DELETE CASCADE,
    project_id    bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    linked_type   integer NOT NULL DEFAULT 1,
    linked_id     bigint NOT NULL,
    relationship  integer NOT NULL DEFAULT 2,
    data          jsonb NOT NULL DEFAULT '{}',
    datetime      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (group_id, linked_type, linked_id)
);
CREATE INDEX group_link_linked_idx ON group_link (linked_id);

-- Notification settings carry no foreign key, as in Sentry: deleting a
-- project removes its rows by hand (scope_type 'project').
CREATE TABLE notification_setting_option (
    id                 bigserial PRIMARY KEY,
    scope_type         text NOT NULL,
    scope_identifier   bigint NOT NULL,
    target_type        text NOT NULL,
    target_identifier  bigint NOT NULL,
    type               text NOT NULL,
    value              text NOT NULL,
    date_updated       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (scope_type, scope_identifier, target_type, target_identifier,
            type)
);

CREATE TABLE notification_setting_provider (
    id                 bigserial PRIMARY KEY,
    scope_type         text NOT NULL,
    scope_identifier   bigint NOT NULL,
    target_type        text NOT NULL,
    target_identifier  bigint NOT NULL,
    type               text NOT NULL,
    provider           text NOT NULL,
    value              text NOT NULL,
    date_updated       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (scope_type, scope_identifier, target_type, target_identifier,
            type, provider)
);

-- bearer tokens, stored only as SHA-256 of the token text
CREATE TABLE api_token (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    name        text NOT NULL DEFAULT '',
    scopes      text[] NOT NULL DEFAULT '{}',
    expires_at  timestamptz,
    date_added  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO schema_migrations (version) VALUES (1);
