# build_integration: the webhook is registered at Jira first and the
# integration persisted only then, in one transaction, with every row as
# Sentry writes it; failures leave no row behind; Jira 9 and 10
# endpoints; re-installs reuse the webhook; a delivery to the registered
# URL is accepted end to end.

use strict;
use warnings;

use lib 't/lib';
use Digest::SHA qw(sha1_hex);
use HTTP::Tiny;
use JSON::PP;
use Test::More;
use JiraMock;
use JiraSyncTest qw(json_decode);

my ($t, $jira, $keys) = JiraMock->start;

my $s = $t->scenario;
my $org = $t->value('SELECT slug FROM organization WHERE id = ?', $s->{org});
my $alice = $t->user($s, email => 'alice@example.com');
my $token = $t->api_token($alice, 'org:integrations');
my $public = $t->url('');
my $jira_host = '127.0.0.1:' . $jira->port;
my $external_id = "$jira_host:sentry-bot";
my $hook_prefix = "$public/extensions/jira-server/issue-updated/";

sub install {
    return $jira->install($t, org => $org, token => $token,
                          private_key => $keys->{private_key}, api => 1, @_);
}

# rows of this Jira's integrations, in every table setup writes
sub counts {
    my ($like) = @_;
    $like //= "$jira_host:%";
    return {
        integration => $t->value('SELECT count(*) FROM integration'
                                 . ' WHERE external_id LIKE ?', $like),
        identity_provider => $t->value('SELECT count(*) FROM'
                                       . ' identity_provider WHERE'
                                       . ' external_id LIKE ?', $like),
        identity => $t->value('SELECT count(*) FROM identity'
                              . ' WHERE external_id LIKE ?', $like),
        organization_integration => $t->value(
            'SELECT count(*) FROM organization_integration oi'
            . ' JOIN integration i ON i.id = oi.integration_id'
            . ' WHERE i.external_id LIKE ?', $like),
    };
}

my $NONE = { integration => 0, identity_provider => 0, identity => 0,
             organization_integration => 0 };

sub token_of {
    my ($url) = @_;
    my ($tok) = $url =~ m{^\Q$hook_prefix\E([^/]+)/$};
    return $tok;
}

# --- the whole flow, every row -------------------------------------------

$t->mark_log;
my $r = install();
is $r->{status}, 200, 'install: 200';

my $i = $t->rows('SELECT * FROM integration WHERE external_id = ?',
                 $external_id)->[0];
ok $i, 'integration row';
is_deeply $r->{json}, { status => 'complete', data => {
    id => "$i->{id}", name => 'sentry-bot', provider => 'jira_server',
    externalId => $external_id, domainName => $jira_host,
    status => 'active' } }, 'complete: the integration';

is $i->{provider}, 'jira_server', 'integration: provider';
is $i->{name}, 'sentry-bot', 'integration: name is the consumer key';
is $i->{status}, 0, 'integration: active';
my $meta = json_decode($i->{metadata});
is_deeply [sort keys %$meta],
          [qw(base_url domain_name verify_ssl webhook_secret)],
          'metadata keys as Sentry';
is $meta->{base_url}, $jira->url, 'metadata: base_url';
is $meta->{domain_name}, $jira_host, 'metadata: domain_name has the port';
ok !$meta->{verify_ssl} && JSON::PP::is_bool($meta->{verify_ssl}),
   'metadata: verify_ssl false';
like $meta->{webhook_secret}, qr/^[0-9a-f]{64}$/,
     'webhook secret: 256 random bits, hex';
isnt $meta->{webhook_secret},
     sha1_hex($keys->{private_key} =~ s/\s+\z//r),
     'not the SHA-1 of the private key';

my $idp = $t->rows('SELECT * FROM identity_provider WHERE external_id = ?',
                   $external_id)->[0];
is $idp->{type}, 'jira_server', 'identity provider: type';
is_deeply json_decode($idp->{config}), {}, 'identity provider: config {}';

my $d = $t->rows('SELECT * FROM identity WHERE idp_id = ?', $idp->{id})->[0];
is $d->{user_id}, $alice, 'identity: the installing user';
is $d->{external_id}, $external_id, 'identity: external id';
is $d->{status}, 1, 'identity: valid';
is_deeply $d->{scopes}, [], 'identity: no scopes';
ok defined $d->{date_verified}, 'identity: verified now';

my @tokens = keys %{ $jira->state->{access_tokens} };
is scalar @tokens, 1, 'Jira issued one access token';
my $access = $tokens[0];
my $access_secret = $jira->state->{access_tokens}{$access};

is ord($d->{credentials}), 1, 'credentials sealed, format version 1';
for my $plain ($access, $access_secret, 'PRIVATE KEY', 'sentry-bot') {
    unlike $d->{credentials}, qr/\Q$plain\E/, "no plaintext: $plain";
}
my $plain = JiraMock->unseal($keys->{secret_key}, $d->{credentials});
my $creds = json_decode($plain);
is_deeply $creds, { type => 'oauth1', consumer_key => 'sentry-bot',
                    private_key => $keys->{private_key} =~ s/\s+\z//r,
                    access_token => $access,
                    access_token_secret => $access_secret },
          'credentials open with the key file to Sentry\'s identity data';
is length $d->{credentials}, 29 + length $plain,
   'AES-GCM: version, 96-bit nonce, ciphertext, 128-bit tag';

my $oi = $t->rows('SELECT * FROM organization_integration'
                  . ' WHERE integration_id = ?', $i->{id});
is scalar @$oi, 1, 'one organization integration';
is $oi->[0]{organization_id}, $s->{org}, 'organization integration: org';
is_deeply json_decode($oi->[0]{config}), {}, 'config {}';
is $oi->[0]{status}, 0, 'organization integration: active';
is $oi->[0]{default_auth_id}, $d->{id}, 'default identity is the new one';

# the webhook at Jira
my $hooks = $jira->webhooks;
is scalar @$hooks, 1, 'one webhook at Jira';
is $hooks->[0]{name}, 'Sentry Issue Sync', 'webhook name';
is_deeply $hooks->[0]{events}, ['jira:issue_created', 'jira:issue_updated'],
          'webhook events';
my $jwt = token_of($hooks->[0]{url});
ok $jwt, 'webhook URL: jira_sync_public_url/extensions/jira-server/'
         . 'issue-updated/{token}/';
my ($header, $claims, $valid) = JiraMock->jwt_parts($jwt,
                                                    $meta->{webhook_secret});
is_deeply $header, { alg => 'HS256', typ => 'JWT' }, 'JWT header';
is_deeply $claims, { id => $external_id }, 'JWT claims: only the id';
ok $valid, 'JWT signed with the stored webhook secret';

my @calls = grep { $_->{endpoint} !~ /^(?:authorize)$/ } $jira->requests;
is_deeply [map { $_->{endpoint} } @calls],
          [qw(request_token access_token server_info webhook_list
              webhook_create)], 'Jira calls in order';
is_deeply [grep { $_->{signature} ne 'valid' } @calls], [],
          'every call signed with RSA-SHA1 and verified';
is $calls[-1]{path}, '/rest/webhooks/1.0/webhook', 'Jira 9: legacy resource';
is $calls[-1]{content_type}, 'application/json', 'JSON body';
is_deeply json_decode($calls[-1]{body}), {
    name => 'Sentry Issue Sync', url => $hooks->[0]{url},
    events => ['jira:issue_created', 'jira:issue_updated'] },
    'the body Sentry sends';
is $calls[-1]{oauth}{oauth_token}, $access, 'signed with the access token';

like $t->log_since, qr/jira-server\.installed[ ]integration_id=\Q$i->{id}\E
                       [ ]external_id="\Q$external_id\E"
                       [ ]organization_id=\Q$s->{org}\E[ ]webhook=created
                       [ ]jira_version=9/x, 'install logged';

# --- the webhook accepts a delivery signed with the stored secret ---------

$t->dbh->do(q{UPDATE organization_integration
                 SET config = '{"sync_reverse_assignment": true}'
               WHERE integration_id = ?}, undef, $i->{id});
my $ei = $t->insert('external_issue', organization_id => $s->{org},
                    integration_id => $i->{id}, key => 'SYNC-1');
my $g = $t->group($s, external_issue => $ei);
my $bob = $t->user($s, email => 'bob@example.com');

my @res = $jira->deliver($t->assign_payload('SYNC-1',
                         JiraSyncTest::jira_user('bob@example.com')));
is scalar @res, 1, 'Jira delivered to its one webhook';
is $res[0]{status}, 200, 'delivery accepted';
is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?', $g),
   $bob, 'the assignee changed end to end';

# --- re-install: same rows, same webhook, new secret ---------------------

$t->dbh->do(q{UPDATE integration SET status = 1 WHERE id = ?}, undef,
            $i->{id});
my $first_hook = $hooks->[0];
my $old_url = $first_hook->{url};
$jira->reset_requests;

$r = install();
is $r->{status}, 200, 're-install: 200';
is $r->{json}{data}{id}, "$i->{id}", 'the same integration';

my $i2 = $t->rows('SELECT * FROM integration WHERE id = ?', $i->{id})->[0];
my $meta2 = json_decode($i2->{metadata});
is $i2->{status}, 0, 'reactivated';
isnt $meta2->{webhook_secret}, $meta->{webhook_secret}, 'a new secret';
is_deeply counts(), { integration => 1, identity_provider => 1,
                      identity => 1, organization_integration => 1 },
          'no row added';
my $d2 = $t->rows('SELECT * FROM identity WHERE idp_id = ?', $idp->{id})->[0];
is $d2->{id}, $d->{id}, 'the same identity';
isnt $d2->{credentials}, $d->{credentials}, 'with the new access token';
my $oi2 = $t->rows('SELECT * FROM organization_integration'
                   . ' WHERE integration_id = ?', $i->{id})->[0];
is $oi2->{id}, $oi->[0]{id}, 'the same organization integration';
is_deeply json_decode($oi2->{config}), { sync_reverse_assignment =>
          JSON::PP::true }, 'its config is kept';

$hooks = $jira->webhooks;
is scalar @$hooks, 1, 'still one webhook at Jira';
is $hooks->[0]{id}, $first_hook->{id}, 'the same webhook';
isnt $hooks->[0]{url}, $old_url, 'its URL updated';
(undef, $claims, $valid) = JiraMock->jwt_parts(token_of($hooks->[0]{url}),
                                               $meta2->{webhook_secret});
ok $valid && $claims->{id} eq $external_id, 'under the new secret';
is_deeply [map { $_->{endpoint} } grep { $_->{endpoint} =~ /^webhook_/ }
           $jira->requests], [qw(webhook_list webhook_update)],
          'listed and updated, not created';
my ($put) = $jira->requests('webhook_update');
is $put->{method}, 'PUT', 'update: PUT';
is $put->{path}, "/rest/webhooks/1.0/webhook/$first_hook->{id}",
   'update: the webhook\'s own resource';

@res = $jira->deliver($t->assign_payload('SYNC-1', undef));
is $res[0]{status}, 200, 'a delivery to the new URL is accepted';
my $old = HTTP::Tiny->new->post($old_url, { content => '{}' });
is $old->{status}, 400, 'the old URL is refused';
like $old->{content}, qr/Could not validate JWT/, 'by its signature';

# duplicates of ours are removed; other webhooks are not touched
my $stale = JiraSyncTest::jwt({ id => $external_id }, 'an-older-secret');
my $dup = $jira->add_webhook(url => "$hook_prefix$stale/");
my $foreign = $jira->add_webhook(name => 'Other tool',
                                 url => 'https://other.example/hook');
my $other_id = $jira->add_webhook(url => $hook_prefix . JiraSyncTest::jwt(
                                  { id => 'elsewhere:key' }, 'x') . '/');
$r = install();
is $r->{status}, 200, 're-install with duplicates: 200';
is_deeply [sort { $a <=> $b } map { $_->{id} } @{ $jira->webhooks }],
          [$first_hook->{id}, $foreign, $other_id],
          'the duplicate is removed, the others stay';

# --- failures of create_webhook leave nothing ----------------------------

sub fresh {
    $t->dbh->do('DELETE FROM integration');
    $t->dbh->do('DELETE FROM identity_provider');
    $t->dbh->do('DELETE FROM setup_pipeline');
    $jira->clear_webhooks;
    $jira->clear_responses;
    $jira->reset_requests;
    $t->mark_log;
}

my $denied = 'Could not create issue webhook in Jira. You do not have'
           . " permission to create WebHook 'Sentry Issue Sync'.";

fresh();
$jira->respond(webhook_create => 'forbidden');
$r = install();
is $r->{status}, 400, 'webhook 403: 400';
is_deeply $r->{json}, { status => 'error', data => { detail => $denied } },
          'webhook 403: Jira\'s first message (Sentry test)';
is_deeply counts(), $NONE, 'webhook 403: not one row';
is $t->value('SELECT count(*) FROM setup_pipeline'), 0,
   'webhook 403: the pipeline is dropped';
my $log = $t->log_since;
like $log, qr/jira-server\.webhook\.failed[ ]external_id="\Q$external_id\E"
              [ ]status=403[ ]error="\{'messages/x,
     'jira-server.webhook.failed logged with the error and external_id';

# the Jira user is not an administrator (the list is refused already)
fresh();
$jira->set(admin => 0);
$r = install();
is $r->{json}{data}{detail}, 'Could not create issue webhook in Jira.'
   . ' You do not have permission to view WebHooks.',
   'not a Jira administrator';
is_deeply counts(), $NONE, 'not an administrator: not one row';
$jira->set(admin => 1);

fresh();
$jira->respond(webhook_create => 'bad_gateway');
$r = install();
is $r->{status}, 400, 'webhook 502: 400';
is $r->{json}{data}{detail}, 'Could not create issue webhook in Jira. ',
   'webhook 502: no message (Sentry: trailing space)';
is_deeply counts(), $NONE, 'webhook 502: not one row';
like $t->log_since, qr/jira-server\.webhook\.failed[ ].*[ ]status=502
                       [ ]error="<html>/x, 'webhook 502 logged';

fresh();
$jira->respond(webhook_create => 'hang');
$r = install();
is $r->{json}{data}{detail}, 'Could not create issue webhook in Jira.'
   . " Timed out attempting to reach host: $jira_host", 'webhook timeout';
is_deeply counts(), $NONE, 'webhook timeout: not one row';

fresh();
$jira->respond(webhook_list => 'malformed');
$r = install();
is $r->{json}{data}{detail}, 'Could not create issue webhook in Jira. ',
   'malformed webhook list';
is_deeply counts(), $NONE, 'malformed list: not one row';
is scalar $jira->requests('webhook_create'), 0, 'malformed list: no create';

fresh();
$jira->respond(server_info => { status => 503, json => {
    errorMessages => ['Jira is being upgraded'] } });
$r = install();
is $r->{json}{data}{detail}, 'Could not create issue webhook in Jira.'
   . ' Jira is being upgraded', 'serverInfo failure: errorMessages';
is_deeply counts(), $NONE, 'serverInfo failure: not one row';

# a Jira that echoes the request's Authorization must not leak the token
fresh();
$jira->respond(webhook_create => { status => 401, echo_authorization => 1 });
$r = install();
$log = $t->log_since;
my ($create) = $jira->requests('webhook_create');
my ($used) = $create->{authorization} =~ /oauth_token="(at-[^"]+)"/;
ok $used, 'the create call was signed with the access token';
like $r->{json}{data}{detail},
     qr/^Could\ not\ create\ issue\ webhook\ in\ Jira\.\ Rejected:\ OAuth
        \ .*oauth_token="\[redacted\]"/x,
     'Jira\'s message is answered with the token redacted';
unlike $r->{content}, qr/\Q$used\E/, 'the access token is not answered';
unlike $log, qr/\Q$used\E/, 'nor logged';
is_deeply counts(), $NONE, 'echo: not one row';

# nor the webhook token, when Jira quotes the body
fresh();
$jira->respond(webhook_create => { status => 400, echo_body => 1 });
$r = install();
($create) = $jira->requests('webhook_create');
my $sent = json_decode($create->{body})->{url};
is $r->{json}{data}{detail}, 'Could not create issue webhook in Jira.'
   . ' Invalid webhook: {"name":"Sentry Issue Sync","url":"[redacted]",'
   . '"events":["jira:issue_created","jira:issue_updated"]}',
   'the webhook URL and its token are redacted from Jira\'s message';
unlike $t->log_since, qr/\Q$sent\E/, 'and from the log';
is_deeply counts(), $NONE, 'body echo: not one row';

# --- Jira 10 ---------------------------------------------------------------

fresh();
$jira->set(version => '10.0.1');
$r = install();
is $r->{status}, 200, 'Jira 10: 200';
my @paths = map { "$_->{method} $_->{path}" }
            grep { $_->{endpoint} =~ /^(?:server_info|webhook_)/ }
            $jira->requests;
is_deeply \@paths, ['GET /rest/api/2/serverInfo',
                    'GET /rest/jira-webhook/1.0/webhooks',
                    'POST /rest/jira-webhook/1.0/webhooks'],
          'Jira 10: the new resource, nothing at the old one';
is scalar @{ $jira->webhooks }, 1, 'Jira 10: one webhook';

$jira->reset_requests;
$r = install();
is $r->{status}, 200, 'Jira 10 re-install: 200';
@paths = map { "$_->{method} $_->{path}" }
         grep { $_->{endpoint} =~ /^webhook_/ } $jira->requests;
is_deeply \@paths, ['GET /rest/jira-webhook/1.0/webhooks',
                    'PUT /rest/jira-webhook/1.0/webhooks/'
                    . $jira->webhooks->[0]{id}],
          'Jira 10 re-install: updated by id';
is scalar @{ $jira->webhooks }, 1, 'Jira 10 re-install: still one webhook';

fresh();
$jira->set(version => '9.9.9');
$r = install();
is $r->{status}, 200, 'Jira 9.9.9: 200';
is_deeply [map { $_->{path} } $jira->requests('webhook_create')],
          ['/rest/webhooks/1.0/webhook'], 'Jira 9.9.9: the old resource';

# --- external_id is cut to 64 characters ----------------------------------

fresh();
my $long = 'a-very-long-consumer-key-that-when-combined-with-host-would-'
         . 'overflow';
$jira->set(consumer_key => $long);
$r = install(consumer_key => $long);
is $r->{status}, 200, 'long consumer key: 200';
my $cut = substr("$jira_host:$long", 0, 64);
is $r->{json}{data}{externalId}, $cut, 'external_id cut to 64 characters';
is_deeply counts($cut), { integration => 1, identity_provider => 1,
                          identity => 1, organization_integration => 1 },
          'rows under the cut id';
is $t->value('SELECT name FROM integration WHERE external_id = ?', $cut),
   $long, 'the name keeps the whole key';
(undef, $claims) = JiraMock->jwt_parts(token_of($jira->webhooks->[0]{url}));
is $claims->{id}, $cut, 'the webhook token names the cut id';

fresh();
my $wide = "\x{e9}" x 80;
$jira->set(consumer_key => $wide);
$r = install(consumer_key => $wide);
is $r->{status}, 200, 'two-byte consumer key: 200';
my $want = substr("$jira_host:$wide", 0, 64);
is(JSON::PP->new->utf8->decode($r->{content})->{data}{externalId}, $want,
   'cut by characters, not bytes');
is $t->value('SELECT char_length(external_id) FROM integration'), 64,
   '64 characters in the database';
$jira->set(consumer_key => 'sentry-bot');

# --- an identity of another user ------------------------------------------

fresh();
$r = install();
is $r->{status}, 200, 'alice installs';
my $carol = $t->user($s, email => 'carol@example.com');
my $carol_token = $t->api_token($carol, 'org:integrations');
my $before = counts();
$jira->reset_requests;
$r = $jira->install($t, org => $org, token => $carol_token, api => 1,
                    private_key => $keys->{private_key});
is $r->{status}, 400, 'carol, same Jira account: 400';
is $r->{json}{data}{detail}, 'The provided Jira Server account is linked to'
   . ' a different Sentry user. To continue linking the current Sentry'
   . ' user, please use a different Jira Server account.',
   'Sentry\'s message';
is scalar $jira->requests('webhook_list'), 0,
   'refused before Jira\'s webhooks were touched';
is_deeply counts(), $before, 'no row changed';

# --- the database refuses: Jira is put back as it was ---------------------

fresh();
$t->dbh->do(q{CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql
              AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$});
$t->dbh->do(q{CREATE TRIGGER refuse BEFORE INSERT OR UPDATE
              ON organization_integration
              FOR EACH ROW EXECUTE FUNCTION refuse()});
$r = install();
is $r->{status}, 500, 'database failure: 500';
is_deeply counts(), $NONE, 'database failure: not one row';
is_deeply $jira->webhooks, [], 'the created webhook is removed again';
like $t->log_since, qr/jira-server\.webhook\.removed external_id=/,
     'and that is logged';

$t->dbh->do('DROP TRIGGER refuse ON organization_integration');
$r = install();
is $r->{status}, 200, 'installed';
my $kept = $jira->webhooks->[0];
$t->dbh->do(q{CREATE TRIGGER refuse BEFORE INSERT OR UPDATE
              ON organization_integration
              FOR EACH ROW EXECUTE FUNCTION refuse()});
my $meta3 = json_decode($t->value('SELECT metadata FROM integration'));
$r = install();
is $r->{status}, 500, 're-install, database failure: 500';
is_deeply $jira->webhooks, [$kept], 'the webhook\'s old URL is restored';
is json_decode($t->value('SELECT metadata FROM integration'))
   ->{webhook_secret}, $meta3->{webhook_secret}, 'the old secret is kept';
@res = $jira->deliver($t->assign_payload('SYNC-1', undef));
is $res[0]{status}, 200, 'so deliveries still verify';
$t->dbh->do('DROP TRIGGER refuse ON organization_integration');

# --- nothing secret in the logs -----------------------------------------

$log = $t->error_log;
my ($pem_line) = $keys->{private_key} =~ /\n([A-Za-z0-9+\/]{40,})\n/;
unlike $log, qr/\Q$pem_line\E/, 'the private key is not logged';
for my $at (keys %{ $jira->state->{access_tokens} }) {
    unlike $log, qr/\Q$at\E/, 'no access token';
    unlike $log, qr/\Q$jira->state->{access_tokens}{$at}\E/,
           'no access token secret';
}
for my $row (@{ $t->rows('SELECT metadata FROM integration') }) {
    my $secret = json_decode($row->{metadata})->{webhook_secret};
    unlike $log, qr/\Q$secret\E/, 'no webhook secret';
}
for my $hook (@{ $jira->webhooks }) {
    my $tok = token_of($hook->{url});
    unlike $log, qr/\Q$tok\E/, 'no webhook token';
}

done_testing;
