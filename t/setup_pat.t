# Jira Server setup with a Personal Access Token: one step, the token as
# "Authorization: Bearer", the Jira user from /rest/api/2/myself, then
# the same build_integration as OAuth 1.0a.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraMock;
use JiraSyncTest qw(json_decode);

my ($t, $jira, $keys) = JiraMock->start;

my $s = $t->scenario;
my $org = $t->value('SELECT slug FROM organization WHERE id = ?', $s->{org});
my $alice = $t->user($s, email => 'alice@example.com');
my $token = $t->api_token($alice, 'org:integrations');
my $jira_host = '127.0.0.1:' . $jira->port;
my $pat = $jira->state->{pat};
my $external_id = "$jira_host:svc-sync";
my $REQUIRED = 'This field is required.';

# undef leaves url or verifySsl out; personalAccessToken => undef is null
sub pat_step {
    my (%o) = @_;
    my $tok = exists $o{_token} ? delete $o{_token} : $token;
    my %body = (step => 'installation_config', url => $jira->url,
                personalAccessToken => $pat, verifySsl => JSON::PP::false,
                %o);
    for my $k (qw(url verifySsl)) {
        delete $body{$k} if exists $o{$k} && !defined $o{$k};
    }
    return JiraMock->setup_step($t, $org, $tok, \%body);
}

sub rows {
    return $t->value('SELECT count(*) FROM integration WHERE external_id'
                     . ' LIKE ?', "$jira_host:%")
         + $t->value('SELECT count(*) FROM identity_provider'
                     . ' WHERE external_id LIKE ?', "$jira_host:%")
         + $t->value('SELECT count(*) FROM identity WHERE external_id'
                     . ' LIKE ?', "$jira_host:%");
}

# --- authentication and validation ------------------------------------

my $r = pat_step(_token => $t->api_token($alice, 'org:read'));
is $r->{status}, 403, 'PAT step needs org:integrations';
$r = JiraMock->setup_step($t, $org, undef, { step => 'installation_config',
                          personalAccessToken => $pat });
is $r->{status}, 401, 'and a token';

$r = pat_step(personalAccessToken => '');
is_deeply $r->{json}, { personalAccessToken =>
              ['This field may not be blank.'] }, 'PAT blank';
$r = pat_step(personalAccessToken => undef);
is_deeply $r->{json}, { personalAccessToken =>
              ['This field may not be null.'] }, 'PAT null';
$r = pat_step(personalAccessToken => 'x' x 513);
is_deeply $r->{json}, { personalAccessToken =>
              ['Ensure this field has no more than 512 characters.'] },
          'PAT too long';
$r = pat_step(personalAccessToken => { token => 'x' });
is_deeply $r->{json}, { personalAccessToken => ['Not a valid string.'] },
          'PAT an object';
$r = pat_step(url => undef);
is_deeply $r->{json}, { url => [$REQUIRED] },
          'url required; consumerKey and privateKey are not';
$r = pat_step(url => 'jira.example.com', verifySsl => 'perhaps');
is_deeply $r->{json}, { url => ['Enter a valid URL.'],
                        verifySsl => ['Must be a valid boolean.'] },
          'url and verifySsl checked as for OAuth';
is scalar $jira->requests, 0, 'nothing reached Jira';

# --- Jira refuses or fails ---------------------------------------------

$t->mark_log;
$r = pat_step(personalAccessToken => 'not-the-token');
is $r->{status}, 400, 'wrong PAT: 400';
is_deeply $r->{json}, { status => 'error', data => { detail =>
    'Could not fetch the Jira user of the personal access token. You are'
    . ' not authenticated. Authentication required to perform this'
    . ' operation.' } }, 'wrong PAT: Jira\'s message';
is_deeply [map { $_->{endpoint} } $jira->requests], ['myself'],
          'wrong PAT: only /myself was called';
my ($me) = $jira->requests('myself');
is $me->{authorization}, 'Bearer not-the-token', 'sent as a Bearer token';
is $me->{auth}, 'pat', 'no OAuth signature';
like $t->log_since, qr/identity\.jira-server\.myself url="[^"]+" status=401/,
     'refusal logged';
unlike $t->log_since, qr/not-the-token/, 'the token is not logged';
is rows(), 0, 'wrong PAT: not one row';

$jira->respond(myself => 'hang');
$r = pat_step();
is $r->{json}{data}{detail}, 'Could not fetch the Jira user of the personal'
   . " access token. Timed out attempting to reach host: $jira_host",
   'timeout';

$jira->respond(myself => 'malformed');
$r = pat_step();
is $r->{json}{data}{detail}, 'Could not fetch the Jira user of the personal'
   . ' access token. {"this is": not json', 'malformed answer';

$jira->respond(myself => { status => 200, json => { key => 'JIRAUSER1' } });
$r = pat_step();
like $r->{json}{data}{detail}, qr/^Could not fetch the Jira user/,
     'an answer without a user name';
$jira->clear_responses;

$jira->respond(webhook_create => 'forbidden');
$jira->reset_requests;
$r = pat_step();
is $r->{status}, 400, 'PAT, webhook 403: 400';
is $r->{json}{data}{detail}, 'Could not create issue webhook in Jira. You do'
   . " not have permission to create WebHook 'Sentry Issue Sync'.",
   'PAT, webhook 403: message';
is rows(), 0, 'PAT, webhook 403: not one row';
$jira->clear_responses;

# --- success -------------------------------------------------------------

$jira->reset_requests;
$t->mark_log;
$r = pat_step(verifySsl => undef);
is $r->{status}, 200, 'PAT: 200';
my $i = $t->rows('SELECT * FROM integration WHERE external_id = ?',
                 $external_id)->[0];
is_deeply $r->{json}, { status => 'complete', data => {
    id => "$i->{id}", name => 'svc-sync', provider => 'jira_server',
    externalId => $external_id, domainName => $jira_host,
    status => 'active' } }, 'complete in one step';
is $i->{name}, 'svc-sync', 'named after the Jira user';

my $meta = json_decode($i->{metadata});
is $meta->{base_url}, $jira->url, 'metadata: base_url';
ok $meta->{verify_ssl}, 'metadata: verify_ssl defaults to true';
like $meta->{webhook_secret}, qr/^[0-9a-f]{64}$/, 'metadata: secret';

my @calls = $jira->requests;
is_deeply [map { $_->{endpoint} } @calls],
          [qw(myself server_info webhook_list webhook_create)],
          'Jira calls';
is_deeply [grep { ($_->{authorization} // '') ne "Bearer $pat" } @calls], [],
          'every call carries the PAT as a Bearer token';

my $d = $t->rows('SELECT d.* FROM identity d JOIN identity_provider p'
                 . ' ON p.id = d.idp_id WHERE p.external_id = ?',
                 $external_id)->[0];
is $d->{user_id}, $alice, 'identity of the installing user';
unlike $d->{credentials}, qr/\Q$pat\E/, 'the PAT is not stored in clear';
is_deeply json_decode(JiraMock->unseal($keys->{secret_key},
                                       $d->{credentials})),
          { type => 'personal_access_token', personal_access_token => $pat,
            username => 'svc-sync' }, 'credentials: the PAT, sealed';

my $oi = $t->rows('SELECT * FROM organization_integration'
                  . ' WHERE integration_id = ?', $i->{id})->[0];
is $oi->{default_auth_id}, $d->{id}, 'default identity';
is_deeply json_decode($oi->{config}), {}, 'config {}';
is $t->value('SELECT count(*) FROM setup_pipeline'), 0,
   'one step: no pipeline stored';

my $hook = $jira->webhooks->[0];
my ($tok) = $hook->{url} =~ m{/issue-updated/([^/]+)/$};
my (undef, $claims, $valid) = JiraMock->jwt_parts($tok,
                                                  $meta->{webhook_secret});
ok $valid && $claims->{id} eq $external_id, 'webhook token';

unlike $t->error_log, qr/\Q$pat\E/, 'the PAT is never logged';
unlike $r->{content}, qr/\Q$pat\E/, 'nor answered';

# a delivery reaches the integration
my @res = $jira->deliver($t->assign_payload('NONE-1', undef));
is $res[0]{status}, 200, 'delivery to the PAT-registered webhook: 200';

# --- re-install and Jira 10 ---------------------------------------------

$jira->reset_requests;
$r = pat_step();
is $r->{json}{data}{id}, "$i->{id}", 're-install: the same integration';
is_deeply [map { $_->{method} } $jira->requests('webhook_update')], ['PUT'],
          're-install: the webhook is updated';
is scalar @{ $jira->webhooks }, 1, 're-install: one webhook';

$t->dbh->do('DELETE FROM integration');
$jira->clear_webhooks;
$jira->set(version => '10.3.4');
$jira->reset_requests;
$r = pat_step();
is $r->{status}, 200, 'Jira 10, PAT: 200';
is_deeply [map { $_->{path} } $jira->requests('webhook_create')],
          ['/rest/jira-webhook/1.0/webhooks'], 'Jira 10: the new resource';

done_testing;
