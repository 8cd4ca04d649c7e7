# The integrations of an organization: the list with its config, the
# sync switches, and uninstall, which removes our webhook from Jira when
# the last organization leaves.  The integrations under test are
# installed through the setup pipeline against the mock Jira, so there
# are real rows and a real webhook to remove.

use strict;
use warnings;

use lib 't/lib';
use JSON::PP;
use POSIX qw(_exit);
use Test::More;
use JiraMock;
use JiraSyncTest qw(json_decode json_encode);

my ($t, $jira, $keys) = JiraMock->start;

my $NOT_FOUND = 'The requested resource does not exist';
my $BAD_BOOL = 'Must be a valid boolean.';
my $UNKNOWN = 'Unknown field.';
my @SWITCHES = qw(sync_status_forward sync_forward_assignment sync_comments
                  sync_status_reverse sync_reverse_assignment);
my $T = JSON::PP::true;
my $F = JSON::PP::false;

# three organizations, each with a fixture integration of its own; the
# third one lacks the integrations-issue-sync feature
my $sa = $t->scenario;
my $sb = $t->scenario;
my $sc = $t->scenario(feature => 0);
my ($org_a, $org_b, $org_c) = map {
    $t->value('SELECT slug FROM organization WHERE id = ?', $_->{org})
} $sa, $sb, $sc;

my $alice = $t->user($sa, email => 'alice@example.com');
$t->member($sb, $alice);
my $carol = $t->user($sc, email => 'carol@example.com');
my $token = $t->api_token($alice, 'org:integrations');
my $carol_token = $t->api_token($carol, 'org:integrations');
my $read_token = $t->api_token($alice, 'org:read');

my $pat = $jira->state->{pat};
my $jira_host = '127.0.0.1:' . $jira->port;
my $external_id = "$jira_host:svc-sync";
my $hook_prefix = $t->url('') . '/extensions/jira-server/issue-updated/';

sub api {
    my ($method, $path, %o) = @_;
    my $tok = exists $o{token} ? $o{token} : $token;
    return $t->http($method, "/api/0/$path", headers => {
        'Content-Type' => 'application/json',
        defined $tok ? (Authorization => "Bearer $tok") : () },
        exists $o{body}
        ? (body => ref $o{body} ? json_encode($o{body}) : $o{body}) : ());
}

# the Personal Access Token install, one step, through the setup route
sub install { $jira->install_pat($t, org => $_[0], token => $token) }

sub oi_count {
    my ($integration, $org) = @_;
    return $t->value('SELECT count(*) FROM organization_integration'
                     . ' WHERE integration_id = ?'
                     . (defined $org ? ' AND organization_id = ?' : ''),
                     $integration, defined $org ? $org : ());
}

sub config_of {
    my ($integration, $org) = @_;
    my $text = $t->value('SELECT config::text FROM organization_integration'
                         . ' WHERE integration_id = ?'
                         . ' AND organization_id = ?', $integration, $org);
    return defined $text ? json_decode($text) : undef;
}

# webhooks at the mock whose token names our external id
sub our_hooks {
    return grep {
        my ($tok) = $_->{url} =~ m{^\Q$hook_prefix\E([^/]+)/$};
        $tok && (JiraMock->jwt_parts($tok))[1]{id} eq $external_id
    } @{ $jira->webhooks };
}

sub token_of {
    my ($url) = @_;
    my ($tok) = $url =~ m{^\Q$hook_prefix\E([^/]+)/$};
    return $tok;
}

# --- installs through the setup route, into two organizations ----------

my $x = install($org_a);
ok $x, 'the integration has an id';
is install($org_b), $x, 'the second organization shares the integration';
is oi_count($x), 2, 'two organization integrations';
is scalar(our_hooks()), 1, 'one webhook of ours at Jira';
is_deeply config_of($x, $sa->{org}), {}, 'installed with config {}';

# --- list --------------------------------------------------------------

my $r = api('GET', "organizations/$org_a/integrations/");
is $r->{status}, 200, 'list: 200';
is ref $r->{json}, 'ARRAY', 'list: an array';
is_deeply [map { $_->{id} } @{ $r->{json} }], ["$sa->{integration}", "$x"],
          'list: the organization\'s two integrations, ordered by name';

my ($item) = grep { $_->{id} eq "$x" } @{ $r->{json} };
my $fields = delete $item->{configOrganization};
is_deeply $item, {
    id => "$x", name => 'svc-sync', icon => undef,
    domainName => $jira_host, accountType => undef, scopes => undef,
    status => 'active',
    provider => { key => 'jira_server', slug => 'jira_server',
                  name => 'Jira Server', canAdd => $T, canDisable => $F,
                  features => ['issue-basic', 'issue-sync'],
                  aspects => {} },
    configData => { map { $_ => $F } @SWITCHES },
    externalId => $external_id, organizationId => 0 + $sa->{org},
    organizationIntegrationStatus => 'active', gracePeriodEnd => undef },
    'list: an integration as OrganizationIntegrationSerializer shows it';
is_deeply [map { $_->{name} } @$fields], \@SWITCHES,
          'configOrganization: a field per switch';
is_deeply [grep { $_->{type} ne 'boolean' || !length $_->{label}
                  || !length $_->{help} || exists $_->{disabled} } @$fields],
          [], 'boolean fields with label and help, enabled with the feature';
unlike $r->{content}, qr/webhook_secret|"base_url"/,
       'no metadata beyond what the serializer shows';

my ($fixture) = grep { $_->{id} eq "$sa->{integration}" } @{ $r->{json} };
is $fixture->{domainName}, 'jira1.example.com', 'fixture: its domain';
is_deeply $fixture->{configData},
          { (map { $_ => $F } @SWITCHES), sync_reverse_assignment => $T },
          'fixture: its stored switch, the others false';

$r = api('GET', "organizations/$org_c/integrations/",
         token => $carol_token);
is $r->{status}, 200, 'another organization: 200';
is_deeply [map { $_->{id} } @{ $r->{json} }], ["$sc->{integration}"],
          'another organization lists only its own integration';
is_deeply [map { [$_->{disabled}, $_->{disabledReason}] }
           @{ $r->{json}[0]{configOrganization} }],
          [([$T, 'Your organization does not have access to this'
                 . ' feature']) x 5],
          'without the feature every field is disabled';

$r = api('GET', "organizations/$org_a/integrations/?includeConfig=0");
ok !exists $r->{json}[1]{configOrganization}
   && !defined $r->{json}[1]{configData},
   'includeConfig=0: no configOrganization, configData null';
$r = api('GET', "organizations/$org_a/integrations/?providerKey=Jira_Server");
is scalar @{ $r->{json} }, 2, 'providerKey filters by provider';
$r = api('GET', "organizations/$org_a/integrations/?providerKey=github");
is_deeply $r->{json}, [], 'providerKey of another provider: none';

$r = api('GET', "organizations/$org_a/integrations/$x/");
is $r->{status}, 200, 'details: 200';
delete $r->{json}{configOrganization};
is_deeply $r->{json}, $item, 'details: as in the list';

# --- PUT: each switch, merged --------------------------------------------

my %want;
for my $switch (@SWITCHES) {
    $r = api('PUT', "organizations/$org_a/integrations/$x/",
             body => { $switch => $T });
    is $r->{status}, 200, "PUT $switch: 200";
    $want{$switch} = $T;
    is_deeply config_of($x, $sa->{org}), \%want,
              "PUT $switch: stored, the earlier switches kept";
    is_deeply $r->{json}{configData}, { (map { $_ => $F } @SWITCHES),
                                        %want },
              "PUT $switch: the answer has the new config";
    is $r->{json}{id}, "$x", "PUT $switch: the answer is the integration";
}
is_deeply config_of($x, $sb->{org}), {},
          'the other organization\'s config is its own';

$r = api('PUT', "organizations/$org_a/integrations/$x/",
         body => { sync_comments => $F, sync_status_forward => $F });
is $r->{status}, 200, 'PUT false: 200';
is_deeply config_of($x, $sa->{org}),
          { %want, sync_comments => $F, sync_status_forward => $F },
          'switches turned off, the rest kept';

$r = api('PUT', "organizations/$org_a/integrations/$x/",
         body => { sync_comments => 'true', sync_status_forward => 1,
                   sync_status_reverse => 'off' });
is $r->{status}, 200, 'PUT DRF boolean spellings: 200';
is $t->value(q{SELECT string_agg(k || '=' || jsonb_typeof(config -> k)
                                 || ':' || (config ->> k), ',' ORDER BY k)
                 FROM organization_integration,
                      unnest(ARRAY['sync_comments', 'sync_status_forward',
                                   'sync_status_reverse']) k
                WHERE integration_id = ? AND organization_id = ?},
             $x, $sa->{org}),
   'sync_comments=boolean:true,sync_status_forward=boolean:true,'
   . 'sync_status_reverse=boolean:false',
   'stored as JSON booleans';

$r = api('POST', "organizations/$org_a/integrations/$x/",
         body => { sync_comments => $F });
is $r->{status}, 200, 'POST, as Sentry\'s front end sends it: 200';
is config_of($x, $sa->{org})->{sync_comments}, $F, 'POST applied';

# keys the switches do not know about stay as they are
$t->dbh->do(q{UPDATE organization_integration
                 SET config = '{"issues_ignored_fields": ["labels"],
                                "resolution_strategy": "resolve",
                                "sync_comments": true}'
               WHERE integration_id = ? AND organization_id = ?}, undef,
            $x, $sa->{org});
$r = api('PUT', "organizations/$org_a/integrations/$x/",
         body => { sync_reverse_assignment => $T });
is $r->{status}, 200, 'PUT over a config with other keys: 200';
my $merged = { issues_ignored_fields => ['labels'],
               resolution_strategy => 'resolve', sync_comments => $T,
               sync_reverse_assignment => $T };
is_deeply config_of($x, $sa->{org}), $merged, 'merged with the stored keys';
is_deeply $r->{json}{configData},
          { %$merged, sync_status_forward => $F,
            sync_forward_assignment => $F, sync_status_reverse => $F },
          'the answer shows every stored key';

$r = api('PUT', "organizations/$org_a/integrations/$x/", body => '');
is $r->{status}, 200, 'PUT without a body: 200';
is_deeply config_of($x, $sa->{org}), $merged, 'and nothing changed';

# --- PUT: bad input, nothing changed --------------------------------------

my @bad = (
    [{ nope => $T }, { nope => [$UNKNOWN] }, 'an unknown key'],
    [{ config => { sync_comments => $F } }, { config => [$UNKNOWN] },
     'the switches under "config"'],
    [{ issues_ignored_fields => 'x' },
     { issues_ignored_fields => [$UNKNOWN] }, 'a key not among the switches'],
    [{ sync_comments => 'maybe' }, { sync_comments => [$BAD_BOOL] },
     'a string'],
    [{ sync_comments => 2 }, { sync_comments => [$BAD_BOOL] }, 'a number'],
    [{ sync_comments => 0.5 }, { sync_comments => [$BAD_BOOL] },
     'a fraction'],
    [{ sync_comments => [] }, { sync_comments => [$BAD_BOOL] }, 'a list'],
    [{ sync_comments => {} }, { sync_comments => [$BAD_BOOL] }, 'an object'],
    [{ sync_comments => '' }, { sync_comments => [$BAD_BOOL] },
     'an empty string'],
    [{ sync_comments => undef },
     { sync_comments => ['This field may not be null.'] }, 'null'],
    [{ sync_comments => $F, sync_status_forward => 'x', other => 1 },
     { sync_status_forward => [$BAD_BOOL], other => [$UNKNOWN] },
     'several errors, the valid switch not applied'],
    ['[1]', { non_field_errors =>
              ['Invalid data. Expected a dictionary, but got list.'] },
     'a list body'],
    ['"on"', { non_field_errors =>
               ['Invalid data. Expected a dictionary, but got str.'] },
     'a string body'],
);
for my $case (@bad) {
    my ($body, $errors, $name) = @$case;
    $r = api('PUT', "organizations/$org_a/integrations/$x/", body => $body);
    is $r->{status}, 400, "400: $name";
    is_deeply $r->{json}, $errors, "messages: $name"
        or diag $r->{content};
}
$r = api('PUT', "organizations/$org_a/integrations/$x/",
         body => '{"sync_comments": tru');
is $r->{status}, 400, '400: not JSON';
like $r->{json}{detail}, qr/^JSON parse error - /, 'a JSON parse error';
is_deeply config_of($x, $sa->{org}), $merged,
          'nothing changed by any bad request';

# --- unknown integrations ------------------------------------------------

my $c_config = config_of($sc->{integration}, $sc->{org});
for my $id ($sc->{integration}, 999999999, 'abc', 0, '-1',
            '99999999999999999999999', 'jira-server') {
    for my $method (qw(GET PUT DELETE)) {
        $r = api($method, "organizations/$org_a/integrations/$id/",
                 body => { sync_comments => $T });
        is $r->{status}, 404, "$method $id: 404";
        is_deeply $r->{json}, { detail => $NOT_FOUND },
                  "$method $id: the detail";
    }
}
$r = api('PUT', "organizations/$org_a/integrations/$sc->{integration}/",
         body => { bad => 1 });
is $r->{status}, 404, 'another organization\'s integration with a bad'
                      . ' body: 404 before 400';
$r = api('PUT', "organizations/$org_a/integrations/$sc->{integration}/",
         body => 'not json');
is $r->{status}, 404, 'and with a body that is not JSON';
is_deeply config_of($sc->{integration}, $sc->{org}), $c_config,
          'another organization\'s config untouched';
is oi_count($sc->{integration}), 1, 'and still installed';
$r = api('GET', 'organizations/nope/integrations/');
is $r->{status}, 404, 'unknown organization: 404';

$r = api('PATCH', "organizations/$org_a/integrations/$x/",
         body => { sync_comments => $T });
is $r->{status}, 405, 'PATCH: 405';
is $r->{headers}{allow}, 'GET, HEAD, POST, PUT, DELETE, OPTIONS',
   'Allow lists the methods';
$r = api('DELETE', "organizations/$org_a/integrations/");
is $r->{status}, 405, 'DELETE on the list: 405';
$r = api('GET', "organizations/$org_a/integrations/jira-server/setup/");
is $r->{status}, 405, 'the setup route still answers its own path';

# --- authentication and permissions ----------------------------------------

my @calls = (
    ['GET', "organizations/$org_a/integrations/"],
    ['GET', "organizations/$org_a/integrations/$x/"],
    ['PUT', "organizations/$org_a/integrations/$x/"],
    ['POST', "organizations/$org_a/integrations/$x/"],
    ['DELETE', "organizations/$org_a/integrations/$x/"],
);
for my $call (@calls) {
    my ($method, $path) = @$call;
    my %body = (body => { sync_comments => $F });
    $r = api($method, $path, token => undef, %body);
    is $r->{status}, 401, "$method $path without a token: 401";
    is_deeply $r->{json}, { detail => 'Authentication credentials were not'
                                      . ' provided.' }, 'its detail';
    $r = api($method, $path, token => 'tok_nobody', %body);
    is $r->{status}, 401, "$method with an unknown token: 401";
    $r = api($method, $path, token => $read_token, %body);
    is $r->{status}, 403, "$method with org:read only: 403";
    $r = api($method, $path, token => $carol_token, %body);
    is $r->{status}, 403, "$method by a non-member: 403";
    is_deeply $r->{json}, { detail => 'You do not have permission to'
                                      . ' perform this action.' },
              'its detail';
}
is oi_count($x), 2, 'refused deletes deleted nothing';
is_deeply config_of($x, $sa->{org}), $merged, 'refused updates changed nothing';

# --- a delivery reaches the first organization while it is installed ------

$t->dbh->do(q{UPDATE organization_integration
                 SET config = '{"sync_reverse_assignment": true}'
               WHERE integration_id = ?}, undef, $x);
my $ei = $t->insert('external_issue', organization_id => $sa->{org},
                    integration_id => $x, key => 'SYNC-1');
my $g = $t->group($sa, external_issue => $ei);
my $bob = $t->user($sa, email => 'bob@example.com');
my ($ours) = our_hooks();
my $hook_token = token_of($ours->{url});

$r = $t->webhook($hook_token, $t->assign_payload('SYNC-1',
                 JiraSyncTest::jira_user('bob@example.com')));
is $r->{status}, 200, 'delivery while installed: 200';
is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?', $g),
   $bob, 'delivery while installed: assigned';

# other webhooks at Jira, and a stale duplicate of ours
my $foreign = $jira->add_webhook(name => 'Other tool',
                                 url => 'https://other.example/hook');
my $elsewhere = $jira->add_webhook(url => $hook_prefix . JiraSyncTest::jwt(
                                   { id => 'elsewhere:key' }, 'x') . '/');
my $dup = $jira->add_webhook(url => $hook_prefix . JiraSyncTest::jwt(
                             { id => $external_id }, 'older-secret') . '/');
my $identity = $t->value('SELECT default_auth_id FROM organization_integration'
                         . ' WHERE integration_id = ? AND organization_id = ?',
                         $x, $sa->{org});

# --- DELETE from the first organization: the webhook stays -----------------

$jira->reset_requests;
$t->mark_log;
$r = api('DELETE', "organizations/$org_a/integrations/$x/");
is $r->{status}, 204, 'uninstall: 204';
is $r->{content} // '', '', 'uninstall: no body';
is oi_count($x, $sa->{org}), 0, 'its organization integration is gone';
is oi_count($x, $sb->{org}), 1, 'the other organization\'s stays';
is $t->value('SELECT count(*) FROM integration WHERE id = ?', $x), 1,
   'the integration row is kept';
is $t->value('SELECT count(*) FROM identity WHERE id = ?', $identity), 1,
   'the identity stays: the other installation uses it';
is_deeply [$jira->requests], [], 'Jira not called: another organization'
                                 . ' still uses the webhook';
is scalar(our_hooks()), 2, 'our webhooks are still there';
like $t->log_since, qr/jira-server\.uninstalled[ ]integration_id=\Q$x\E
                       [ ]external_id="\Q$external_id\E"
                       [ ]organization_id=\Q$sa->{org}\E[ ]user_id=\Q$alice\E
                       [ ]organizations_left=1[ ]identity=kept
                       [ ]webhook=kept/x, 'uninstall logged';

$r = api('GET', "organizations/$org_a/integrations/");
is_deeply [map { $_->{id} } @{ $r->{json} }], ["$sa->{integration}"],
          'the list no longer shows it';
for my $method (qw(GET PUT DELETE)) {
    $r = api($method, "organizations/$org_a/integrations/$x/",
             body => { sync_comments => $T });
    is $r->{status}, 404, "$method after uninstall: 404";
}

# a delivery for that organization changes nothing any more
my $before = $t->snapshot;
$t->mark_log;
$r = $t->webhook($hook_token, $t->assign_payload('SYNC-1', undef));
is $r->{status}, 200, 'delivery after uninstall: 200';
is_deeply $t->snapshot, $before, 'delivery after uninstall: nothing changed';
is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?', $g),
   $bob, 'still assigned as before';
like $t->log_since, qr/no-affected-groups[ ]integration_id=\Q$x\E
                       [ ]issue_key="SYNC-1"/x, 'no affected groups';

# --- DELETE from the last organization: our webhooks go ----------------------

$jira->reset_requests;
$t->mark_log;
$r = api('DELETE', "organizations/$org_b/integrations/$x/");
is $r->{status}, 204, 'last uninstall: 204';
is oi_count($x), 0, 'no organization integration left';
is $t->value('SELECT count(*) FROM integration WHERE id = ?', $x), 1,
   'the integration row is still kept';
is $t->value('SELECT count(*) FROM identity WHERE id = ?', $identity), 0,
   'the identity and its credentials are gone';
is $t->value('SELECT count(*) FROM identity_provider WHERE external_id = ?',
             $external_id), 1, 'the identity provider is kept';

my @jira_calls = $jira->requests;
is_deeply [map { $_->{endpoint} } @jira_calls],
          [qw(server_info webhook_list webhook_delete webhook_delete)],
          'Jira: version, list, then a delete per webhook of ours';
is_deeply [sort map { $_->{path} } grep { $_->{method} eq 'DELETE' }
           @jira_calls],
          [sort map { "/rest/webhooks/1.0/webhook/$_" } $ours->{id}, $dup],
          'our webhook and its stale duplicate deleted';
is_deeply [grep { !$_->{pat_valid} } @jira_calls], [],
          'every call with the installation\'s token';
is_deeply [sort { $a <=> $b } map { $_->{id} } @{ $jira->webhooks }],
          [$foreign, $elsewhere], 'the webhooks of others stay';
my $log = $t->log_since;
like $log, qr/jira-server\.webhook\.deleted[ ]integration_id=\Q$x\E
              [ ]external_id="\Q$external_id\E"[ ]webhooks=2
              [ ]jira_version=9/x, 'deletion logged';
like $log, qr/jira-server\.uninstalled[ ]integration_id=\Q$x\E
              [ ].*organizations_left=0[ ]identity=deleted
              [ ]webhook=removed/x, 'last uninstall logged';
unlike $log, qr/\Q$pat\E|\Q$hook_token\E|eyJ/, 'no secret in the log';

$r = $t->webhook($hook_token, $t->assign_payload('SYNC-1', undef));
is $r->{status}, 200, 'a late delivery is still answered';
is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?', $g),
   $bob, 'and changes nothing';

# --- Jira 10: the new webhook resource ------------------------------------

$jira->set(version => '10.0.1');
install($org_a);
$jira->reset_requests;
$r = api('DELETE', "organizations/$org_a/integrations/$x/");
is $r->{status}, 204, 'Jira 10: 204';
my ($del) = $jira->requests('webhook_delete');
like $del->{path}, qr{^/rest/jira-webhook/1\.0/webhooks/\d+$},
     'Jira 10: deleted on /rest/jira-webhook/1.0/webhooks';
is scalar(our_hooks()), 0, 'Jira 10: none of ours left';
$jira->set(version => '9.4.0');

# --- Jira cannot be reached, or refuses ----------------------------------

install($org_a);
is scalar(our_hooks()), 1, 'reinstalled: one webhook of ours';
my $closed = JiraSyncTest::free_port();
$t->dbh->do(q{UPDATE integration
                 SET metadata = jsonb_set(metadata, '{base_url}',
                                          to_jsonb(?::text))
               WHERE id = ?}, undef, "http://127.0.0.1:$closed", $x);
$t->mark_log;
$r = api('DELETE', "organizations/$org_a/integrations/$x/");
is $r->{status}, 204, 'Jira down: still 204';
is oi_count($x), 0, 'Jira down: the rows are removed';
$log = $t->log_since;
like $log, qr/\[warn\].*jira-server\.webhook\.delete-failed
              [ ]integration_id=\Q$x\E[ ]external_id="\Q$external_id\E"
              [ ]webhook_id=-[ ]status=0
              [ ]error="Unable[ ]to[ ]reach[ ]host:[ ]127\.0\.0\.1:$closed"/x,
     'Jira down: the failure logged';
like $log, qr/jira-server\.uninstalled.*webhook=failed/,
     'Jira down: uninstall logged as such';
unlike $log, qr/\Q$pat\E/, 'Jira down: no token in the log';
is scalar(our_hooks()), 1, 'the webhook remains at Jira';

install($org_a);
$jira->respond(webhook_delete => 'forbidden');
$t->mark_log;
$r = api('DELETE', "organizations/$org_a/integrations/$x/");
is $r->{status}, 204, 'Jira refuses: 204';
is oi_count($x), 0, 'Jira refuses: the rows are removed';
like $t->log_since, qr/jira-server\.webhook\.delete-failed
                       [ ]integration_id=\Q$x\E.*[ ]webhook_id=\d+
                       [ ]status=403[ ]error="You[ ]do[ ]not[ ]have/x,
     'Jira refuses: its status and message logged';
is scalar(our_hooks()), 1, 'the webhook remains at Jira';
$jira->respond(webhook_delete => undef);

install($org_a);
$jira->respond(webhook_list => { status => 200, type => 'application/json',
                                 body => '{"broken": "' . $hook_prefix
                                         . $hook_token . '/' });
$t->mark_log;
$r = api('DELETE', "organizations/$org_a/integrations/$x/");
is $r->{status}, 204, 'a malformed webhook list: 204';
$log = $t->log_since;
like $log, qr/delete-failed.*status=200 error="\{'broken': '[^"]*\[redacted\]/,
     'a malformed answer is logged with the token redacted';
unlike $log, qr/\Q$hook_token\E/, 'the webhook token is not in the log';
$jira->respond(webhook_list => undef);

install($org_a);
$t->dbh->do('UPDATE organization_integration SET default_auth_id = NULL'
            . ' WHERE integration_id = ?', undef, $x);
$t->mark_log;
$r = api('DELETE', "organizations/$org_a/integrations/$x/");
is $r->{status}, 204, 'no identity: 204';
like $t->log_since, qr/delete-failed.*error="Identity not found\."/,
     'no identity: logged';
is oi_count($x), 0, 'no identity: the rows are removed';

# --- a setup of the same Jira in progress: 409, nothing changed -----------

install($org_a);
$jira->reset_requests;
$t->dbh->do('SELECT pg_advisory_lock(1785295457, hashtext(?))', undef,
            $external_id);
$r = api('DELETE', "organizations/$org_a/integrations/$x/");
is $r->{status}, 409, 'setup holds the lock: 409';
like $r->{json}{detail}, qr/in progress/, 'setup holds the lock: detail';
is oi_count($x), 1, 'setup holds the lock: nothing deleted';
is_deeply [$jira->requests], [], 'setup holds the lock: Jira not called';
$t->dbh->do('SELECT pg_advisory_unlock(1785295457, hashtext(?))', undef,
            $external_id);
$r = api('DELETE', "organizations/$org_a/integrations/$x/");
is $r->{status}, 204, 'lock released: 204';
is scalar(our_hooks()), 0, 'lock released: our webhooks are gone';

# --- two organizations uninstall at once: the webhook still goes ------------

for my $round (1 .. 3) {
    install($org_a);
    install($org_b);
    my @pids;
    for my $org ($org_a, $org_b) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            my $res = api('DELETE', "organizations/$org/integrations/$x/");
            _exit($res->{status} == 204 ? 0 : 1);
        }
        push @pids, $pid;
    }
    my @ok = map { waitpid($_, 0); $? == 0 } @pids;
    is_deeply \@ok, [1, 1], "round $round: both uninstalls 204";
    is oi_count($x), 0, "round $round: no organization integration left";
    is scalar(our_hooks()), 0, "round $round: our webhook deleted";
}

done_testing;
