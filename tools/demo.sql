-- Demo data for "make run": an organization with the issue-sync feature,
-- a team, a project, two users, a Jira integration installed with inbound
-- assignee sync, and an issue group linked to Jira issue DEMO-1.
-- psql variables: secret (webhook secret), token_hash (API token, hex).

SET search_path = jira_sync;

INSERT INTO organization (id, slug, name, integrations_issue_sync)
VALUES (1, 'acme', 'Acme', true);

INSERT INTO team (id, organization_id, slug, name)
VALUES (1, 1, 'backend', 'Backend');

INSERT INTO project (id, organization_id, slug, name)
VALUES (1, 1, 'api', 'API');
SELECT setval('project_id_seq', 1);

INSERT INTO project_team (project_id, team_id) VALUES (1, 1);

INSERT INTO app_user (id, username, name, email) VALUES
    (1, 'alice', 'Alice Adams', 'alice@example.com'),
    (2, 'bob', 'Bob Brown', 'bob@example.com');

INSERT INTO user_email (user_id, email, is_verified) VALUES
    (1, 'alice@example.com', true),
    (2, 'bob@example.com', true);

INSERT INTO organization_member (id, organization_id, user_id) VALUES
    (1, 1, 1), (2, 1, 2);

INSERT INTO organization_member_team (organizationmember_id, team_id)
VALUES (1, 1), (2, 1);

INSERT INTO integration (id, provider, external_id, name, metadata)
VALUES (1, 'jira_server', 'jira.example.com:jira-sync-demo',
        'jira-sync-demo',
        jsonb_build_object('base_url', 'https://jira.example.com',
                           'domain_name', 'jira.example.com',
                           'verify_ssl', true,
                           'webhook_secret', :'secret'));

INSERT INTO organization_integration (organization_id, integration_id,
                                      config)
VALUES (1, 1, '{"sync_reverse_assignment": true}');

INSERT INTO external_issue (id, organization_id, integration_id, key, title)
VALUES (1, 1, 1, 'DEMO-1', 'NullPointerException in checkout');

INSERT INTO issue_group (id, project_id, title)
VALUES (1, 1, 'NullPointerException in checkout');

INSERT INTO group_link (group_id, project_id, linked_type, linked_id,
                        relationship)
VALUES (1, 1, 3, 1, 2);

INSERT INTO api_token (user_id, token_hash, name, scopes)
VALUES (1, decode(:'token_hash', 'hex'), 'demo', '{event:read}');

-- keep the sequences ahead of the fixed ids above
SELECT setval('organization_id_seq', 1), setval('team_id_seq', 1),
       setval('app_user_id_seq', 2), setval('organization_member_id_seq', 2),
       setval('integration_id_seq', 1), setval('external_issue_id_seq', 1),
       setval('issue_group_id_seq', 1);
