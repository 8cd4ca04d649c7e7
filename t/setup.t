# Jira Server setup, the pipeline: authentication, every validation
# message, the request-token and access-token calls against a Jira that
# checks RSA-SHA1 signatures for real, and the browser callback.

use strict;
use warnings;

use lib 't/lib';
use Digest::SHA qw(sha256);
use Test::More;
use Time::HiRes qw(time);
use JiraMock;
use JiraSyncTest qw(json_encode);

my ($t, $jira, $keys) = JiraMock->start;

my $s = $t->scenario;
my $org = $t->value('SELECT slug FROM organization WHERE id = ?', $s->{org});
my $alice = $t->user($s, email => 'alice@example.com');
my $token = $t->api_token($alice, 'org:integrations');
my $public = $t->url('');
my $jira_host = '127.0.0.1:' . $jira->port;

my $REQUIRED = 'This field is required.';
my $BAD_KEY = 'Private key must be a valid SSH private key encoded in a PEM'
            . ' format.';

sub step {
    my ($body, $tok) = @_;
    return JiraMock->setup_step($t, $org, @_ > 1 ? $tok : $token, $body);
}

sub config {
    my (%o) = @_;
    my %body = (step => 'installation_config', url => $jira->url,
                consumerKey => 'sentry-bot',
                privateKey => $keys->{private_key},
                verifySsl => JSON::PP::false, %o);
    delete $body{$_} for grep { !defined $body{$_} } keys %body;
    return step(\%body);
}

sub pipelines { $t->value('SELECT count(*) FROM setup_pipeline') }
sub integrations {
    $t->value("SELECT count(*) FROM integration WHERE external_id LIKE ?",
              "$jira_host:%");
}

# --- authentication ----------------------------------------------------------

my $r = step({ step => 'installation_config' }, undef);
is $r->{status}, 401, 'no token: 401';
is $r->{json}{detail}, 'Authentication credentials were not provided.',
   'no token: detail';

$r = step({ step => 'installation_config' }, 'not-a-token');
is $r->{status}, 401, 'unknown token: 401';
is $r->{json}{detail}, 'Invalid token', 'unknown token: detail';

$r = step({ step => 'installation_config' },
          $t->api_token($alice, 'org:read', 'project:admin'));
is $r->{status}, 403, 'token without org:integrations: 403';
is $r->{json}{detail}, 'You do not have permission to perform this action.',
   'wrong scope: detail';

my $other = $t->scenario;
my $outsider = $t->user($other, email => 'mallory@example.com');
$r = step({ step => 'installation_config' },
          $t->api_token($outsider, 'org:integrations'));
is $r->{status}, 403, 'member of another organization: 403';

$r = JiraMock->setup_step($t, 'no-such-org', $token,
                          { step => 'installation_config' });
is $r->{status}, 404, 'unknown organization: 404';

$r = $t->http('GET', "/api/0/organizations/$org/integrations/jira-server/"
                     . 'setup/',
              headers => { Authorization => "Bearer $token" });
is $r->{status}, 405, 'GET: 405';
like $r->{headers}{allow}, qr/POST/, 'GET: Allow names POST';

is scalar $jira->requests, 0, 'no call reached Jira';

# --- the body and the step -----------------------------------------------

$r = step({});
is $r->{status}, 400, 'no step: 400';
is_deeply $r->{json}, { step => [$REQUIRED] }, 'no step: DRF message';

$r = step('');
is_deeply $r->{json}, { step => [$REQUIRED] }, 'empty body reads as {}';

$r = step({ step => 'bogus' });
is_deeply $r->{json}, { step => ['"bogus" is not a valid choice.'] },
          'unknown step';

$r = step({ step => undef });
is_deeply $r->{json}, { step => ['This field may not be null.'] },
          'null step';

$r = step('{"step": ');
is $r->{status}, 400, 'malformed JSON: 400';
like $r->{json}{detail}, qr/^JSON parse error - /, 'malformed JSON: detail';

$r = step('[1, 2]');
is_deeply $r->{json}, { non_field_errors =>
              ['Invalid data. Expected a dictionary, but got list.'] },
          'a list is not a dictionary';

# --- installation_config: every validation message ---------------------

$r = step({ step => 'installation_config', url => $jira->url });
is $r->{status}, 400, 'missing fields: 400';
is_deeply $r->{json}, { consumerKey => [$REQUIRED], privateKey => [$REQUIRED] },
          'missing consumerKey and privateKey (Sentry test)';

$r = step({ step => 'installation_config' });
is_deeply $r->{json}, { url => [$REQUIRED], consumerKey => [$REQUIRED],
                        privateKey => [$REQUIRED] }, 'all required';

for my $bad ('jira.example.com', 'jira.example.com/', 'ftp://jira.example.com',
             'https://', 'http://:80', 'https://jira',
             'https://-jira.example.com',
             'https://jira.example.com:99999', 'https://jira.example.com:0',
             'https://jira.example.com:port', 'https://exa mple.com',
             'http://999.1.1.1', 'http://01.2.3.4', 'https://[::1',
             'https://[zz::1]/', 'https://user:pw@jira.example.com',
             'https://jira.example.com/?next=1', 'https://jira.example.com/#x',
             'https://jira.example.com/a b', 'https://jira.example.c0m',
             'https://' . ('a' x 64) . '.example.com',
             'https://jira.example.com/' . ('a' x 2030))
{
    $r = config(url => $bad);
    is_deeply $r->{json}, { url => ['Enter a valid URL.'] }, "invalid: $bad";
}

$r = config(url => undef);
is_deeply $r->{json}, { url => [$REQUIRED] }, 'url missing';
$r = step({ step => 'installation_config', url => undef,
            consumerKey => 'k', privateKey => $keys->{private_key} });
is_deeply $r->{json}, { url => ['This field may not be null.'] }, 'url null';
$r = config(url => '   ');
is_deeply $r->{json}, { url => ['This field may not be blank.'] },
          'url blank after trimming';
$r = config(url => 42);
is_deeply $r->{json}, { url => ['Enter a valid URL.'] }, 'url a number';
$r = config(url => JSON::PP::true);
is_deeply $r->{json}, { url => ['Not a valid string.'] }, 'url a boolean';
$r = config(url => ['https://jira.example.com']);
is_deeply $r->{json}, { url => ['Not a valid string.'] }, 'url a list';
$r = config(url => "https://jira.example.com\x{0}");
is_deeply $r->{json}, { url => ['Null characters are not allowed.'] },
          'url with NUL';

$r = config(consumerKey => 'x' x 201);
is_deeply $r->{json}, { consumerKey =>
              ['Ensure this field has no more than 200 characters.'] },
          'consumer key of 201 characters';
$r = config(consumerKey => '');
is_deeply $r->{json}, { consumerKey => ['This field may not be blank.'] },
          'consumer key blank';
$r = config(consumerKey => undef);
is_deeply $r->{json}, { consumerKey => [$REQUIRED] }, 'consumer key missing';

$r = config(privateKey => 'hot-garbage');
is_deeply $r->{json}, { privateKey => [$BAD_KEY] }, 'private key garbage';

my $dir = $t->dir;
system("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024"
       . " -aes-256-cbc -pass pass:secret -out $dir/enc.pem 2>/dev/null") == 0
    or die 'openssl genpkey failed';
system("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
       . " -out $dir/ec.pem 2>/dev/null") == 0 or die 'openssl genpkey failed';
system("openssl pkey -in $dir/enc.pem -passin pass:secret -pubout"
       . " -out $dir/pub.pem 2>/dev/null") == 0 or die 'openssl pkey failed';

$r = config(privateKey => $t->slurp("$dir/enc.pem"));
is_deeply $r->{json}, { privateKey => [$BAD_KEY] },
          'an encrypted private key is refused, not prompted for';
$r = config(privateKey => $t->slurp("$dir/ec.pem"));
is_deeply $r->{json}, { privateKey => [$BAD_KEY] },
          'an EC key cannot sign RSA-SHA1';
$r = config(privateKey => $t->slurp("$dir/pub.pem"));
is_deeply $r->{json}, { privateKey => [$BAD_KEY] }, 'a public key';
$r = config(privateKey => $keys->{public_key});
is_deeply $r->{json}, { privateKey => [$BAD_KEY] }, 'a PKCS#1 public key';

for my $bad ('maybe', '2', '', "true\0") {
    $r = config(verifySsl => $bad);
    (my $shown = $bad) =~ s/\0/\\0/g;
    is_deeply $r->{json}, { verifySsl => ['Must be a valid boolean.'] },
              "verifySsl \"$shown\"";
}
$r = step({ step => 'installation_config', url => $jira->url,
            consumerKey => 'k', privateKey => $keys->{private_key},
            verifySsl => undef });
is_deeply $r->{json}, { verifySsl => ['This field may not be null.'] },
          'verifySsl null';

$r = config(url => 'nope', consumerKey => 'x' x 201, privateKey => 'x',
            verifySsl => 'maybe');
is_deeply $r->{json}, {
    url => ['Enter a valid URL.'],
    consumerKey => ['Ensure this field has no more than 200 characters.'],
    privateKey => [$BAD_KEY],
    verifySsl => ['Must be a valid boolean.'] }, 'all errors at once';

is scalar $jira->requests, 0, 'no invalid request reached Jira';
is pipelines(), 0, 'no pipeline after validation errors';

# accepted edge cases (Jira answers consumer_key_unknown: validation passed)
for my $ok ('http://localhost:1/jira', 'https://[::1]:1/jira/',
            'HTTP://LOCALHOST:1', 'http://127.0.0.1:1',
            'https://jira-1.ex-ample.invalid:8443/jira/',
            'https://jira.example.invalid./') {
    $r = config(url => $ok, consumerKey => 'valid-but-unknown');
    is $r->{json}{status}, 'error', "valid URL, then Jira was called: $ok";
}

$r = config(consumerKey => "\x{e9}" x 200);
is $r->{json}{status}, 'error',
   '200 characters of two bytes each pass the length check';

$r = config(verifySsl => 'false', consumerKey => 'unknown-key');
is $r->{status}, 400, 'verifySsl "false" is a boolean';
like $r->{json}{data}{detail},
     qr/^Could[ ]not[ ]fetch[ ]a[ ]request[ ]token[ ]from[ ]Jira\.
        [ ]oauth_problem=consumer_key_unknown
        &oauth_signature_base_string=POST%26/x,
   'consumer key unknown to Jira: its answer is the error';

$jira->reset_requests;

# --- request token ---------------------------------------------------------

$r = config(url => $jira->url . '//');
is $r->{status}, 200, 'installation_config: 200';
is $r->{json}{status}, 'advance', 'advance';
is $r->{json}{step}, 'oauth_callback', 'next step';
is $r->{json}{stepIndex}, 1, 'stepIndex';
is $r->{json}{totalSteps}, 2, 'totalSteps';
is_deeply [sort keys %{ $r->{json} }],
          [qw(data status step stepIndex totalSteps)], 'no other keys';
is_deeply [sort keys %{ $r->{json}{data} }], [qw(oauthUrl pipeline)],
          'data: oauthUrl and pipeline';

my $authorize = $jira->url . '/plugins/servlet/oauth/authorize';
my ($rt) = $r->{json}{data}{oauthUrl}
           =~ m{^\Q$authorize\E\?oauth_token=(rt-[0-9a-f]{40})$};
ok $rt, 'oauthUrl: trailing slashes stripped, the request token appended';
like $r->{json}{data}{pipeline}, qr/^[0-9a-f]{32}$/, 'pipeline id';

my @calls = $jira->requests('request_token');
is scalar @calls, 1, 'one request-token call';
is $calls[0]{method}, 'POST', 'request token: POST';
is $calls[0]{signature}, 'valid', 'request token: RSA-SHA1 signature valid';
is $calls[0]{oauth}{oauth_callback},
   "$public/extensions/jira-server/setup/callback/",
   'oauth_callback is the browser callback under jira_sync_public_url';
ok !exists $calls[0]{oauth}{oauth_token}, 'no oauth_token yet';
is $calls[0]{oauth}{oauth_signature_method}, 'RSA-SHA1', 'RSA-SHA1';
like $calls[0]{oauth}{oauth_nonce}, qr/^[0-9a-f]{32}$/, '128-bit nonce';
ok abs($calls[0]{oauth}{oauth_timestamp} - time) < 60, 'timestamp is now';

my $row = $t->rows('SELECT *, extract(epoch FROM expires_at - date_added)'
                   . ' AS ttl FROM setup_pipeline')->[0];
is $row->{id}, $r->{json}{data}{pipeline}, 'pipeline stored';
is $row->{organization_id}, $s->{org}, 'pipeline: organization';
is $row->{user_id}, $alice, 'pipeline: user';
ok !defined $row->{claimed_at}, 'pipeline: not claimed';
ok !defined $row->{integration_id}, 'pipeline: no integration';
ok abs($row->{ttl} - 3600) < 5, 'pipeline expires after an hour';
is $row->{request_token_hash}, sha256($rt), 'request token kept as SHA-256';
is ord($row->{state}), 1, 'state sealed (format version 1)';
unlike $row->{state}, qr/PRIVATE KEY|\Q$rt\E/, 'no plaintext in the state';
my $state = JiraMock->unseal($keys->{secret_key}, $row->{state});
like $state, qr/"request_token":"\Q$rt\E"/,
     'the state opens with the configured key';

# failures of the request-token call leave no pipeline
$t->dbh->do('DELETE FROM setup_pipeline');

$jira->respond(request_token => 'hang');
my $start = time;
$t->mark_log;
$r = config();
my $took = time - $start;
is $r->{status}, 400, 'request token timeout: 400';
is_deeply $r->{json}, { status => 'error', data => { detail =>
    "Could not fetch a request token from Jira. Timed out attempting to"
    . " reach host: $jira_host" } }, 'timeout: Sentry\'s message';
ok $took >= 1.8 && $took < 4, sprintf 'gave up after the 2 s timeout'
                                       . ' (%.1f s)', $took;
my $jira_url = $jira->url;
like $t->log_since,
     qr/identity\.jira-server\.request-token url="\Q$jira_url\E"/,
     'timeout logged';

$jira->respond(request_token => { status => 503,
                                  body => 'oauth_problem=unavailable' });
$r = config();
is_deeply $r->{json}, { status => 'error', data => { detail =>
    'Could not fetch a request token from Jira. oauth_problem=unavailable' } },
    '503: the answer is the error';

$jira->respond(request_token => { status => 301, body => '',
                                  location => 'https://jira.example.com/' });
$r = config();
is $r->{json}{data}{detail}, 'Could not fetch a request token from Jira.'
   . ' Jira answered 301, redirecting to https://jira.example.com/: use that'
   . ' address as the Jira URL', 'a redirect is named, not followed';
is scalar(grep { ($_->{host} // '') eq 'jira.example.com' }
          $jira->requests), 0, 'nothing went to the redirect target';

$jira->respond(request_token => 'unavailable');
$r = config();
is $r->{json}{data}{detail}, 'Could not fetch a request token from Jira. ',
   '503 without a body (as Sentry: trailing space)';

my $closed = JiraSyncTest::free_port();
$r = config(url => "http://127.0.0.1:$closed");
is $r->{json}{data}{detail}, 'Could not fetch a request token from Jira.'
   . " Unable to reach host: 127.0.0.1:$closed", 'connection refused';

$t->mark_log;
$jira->respond(request_token => { status => 200,
                                  body => 'no_token=oops&foo=bar' });
$r = config();
is $r->{status}, 400, 'no oauth_token: 400';
is_deeply $r->{json}, { status => 'error',
                        data => { detail => 'Missing oauth_token' } },
          'no oauth_token: Sentry\'s message';
like $t->log_since, qr/identity\.jira-server\.oauth-token\ url="[^"]+"
                    \ data_keys=\[no_token,foo\]/x,
     'the answer\'s keys are logged, not its values';

$jira->respond(request_token => { status => 200,
                                  body => 'oauth_token=req-token' });
$r = config();
is $r->{json}{data}{detail}, 'Missing oauth_token', 'no oauth_token_secret';

$jira->respond(request_token => {
    status => 200, body => 'oauth_token=&oauth_token_secret=s' });
$r = config();
is $r->{json}{data}{detail}, 'Missing oauth_token', 'blank oauth_token';

$jira->respond(request_token => 'malformed');
$r = config();
is $r->{json}{data}{detail}, 'Missing oauth_token', 'malformed answer';

is pipelines(), 0, 'no pipeline after failed request-token calls';
$jira->clear_responses;

# --- oauth_callback through the API (scripted installs) --------------------

$r = step({ step => 'oauth_callback' });
is $r->{status}, 400, 'oauth_callback without fields: 400';
is_deeply $r->{json}, { pipeline => [$REQUIRED], oauthToken => [$REQUIRED] },
          'pipeline and oauthToken required';

$r = step({ step => 'oauth_callback', pipeline => 'f' x 32,
            oauthToken => 'x' });
is $r->{status}, 404, 'unknown pipeline: 404';
is_deeply $r->{json}, { detail => 'No active pipeline session' },
          'unknown pipeline: detail';

$r = step({ step => 'oauth_callback', pipeline => '../../x',
            oauthToken => 'x' });
is $r->{status}, 404, 'malformed pipeline id: 404';

# a pipeline is its user's, in its organization
my $adv = config();
my $pipeline = $adv->{json}{data}{pipeline};
($rt) = $adv->{json}{data}{oauthUrl} =~ /oauth_token=(.+)$/;

my $bob = $t->user($s, email => 'bob@example.com');
$r = step({ step => 'oauth_callback', pipeline => $pipeline,
            oauthToken => $rt }, $t->api_token($bob, 'org:integrations'));
is $r->{status}, 404, 'another user cannot finish it';

my $o2 = $t->value('SELECT slug FROM organization WHERE id = ?', $other->{org});
$t->member($other, $alice);
$r = JiraMock->setup_step($t, $o2, $token, { step => 'oauth_callback',
                          pipeline => $pipeline, oauthToken => $rt });
is $r->{status}, 404, 'not from another organization';
is scalar $jira->requests('access_token'), 0, 'no access-token call yet';

# the operator has not approved: Jira refuses the access token
$t->mark_log;
$r = step({ step => 'oauth_callback', pipeline => $pipeline,
            oauthToken => $rt });
is $r->{status}, 400, 'not approved: 400';
is_deeply $r->{json}, { status => 'error', data => { detail =>
    'Could not fetch an access token from Jira' } },
    'access token failure: Sentry\'s message';
like $t->log_since, qr/identity\.jira-server\.access-token\ url="[^"]+"
                      \ status=401\ error="oauth_problem=permission_unknown/x,
     'access token failure logged with Jira\'s problem';
is pipelines(), 0, 'a failed pipeline is dropped';
$r = step({ step => 'oauth_callback', pipeline => $pipeline,
            oauthToken => $rt });
is $r->{status}, 404, 'and cannot be tried again';

# Jira answers 500 with HTML
$adv = config();
($rt) = $adv->{json}{data}{oauthUrl} =~ /oauth_token=(.+)$/;
$jira->approve($rt);
$jira->respond(access_token => { status => 500,
                                 body => '<html>it broke</html>',
                                 type => 'text/html' });
$r = step({ step => 'oauth_callback', pipeline => $adv->{json}{data}{pipeline},
           oauthToken => $rt });
is $r->{json}{data}{detail}, 'Could not fetch an access token from Jira',
   'access token 500';

# the verifier has expired at Jira
$jira->respond(access_token => { status => 401,
                                 body => 'oauth_problem=token_expired' });
$adv = config();
($rt) = $adv->{json}{data}{oauthUrl} =~ /oauth_token=(.+)$/;
$jira->approve($rt);
$r = step({ step => 'oauth_callback', pipeline => $adv->{json}{data}{pipeline},
           oauthToken => $rt });
is $r->{json}{data}{detail}, 'Could not fetch an access token from Jira',
   'expired token at Jira';

$jira->respond(access_token => 'hang');
$adv = config();
($rt) = $adv->{json}{data}{oauthUrl} =~ /oauth_token=(.+)$/;
$r = step({ step => 'oauth_callback', pipeline => $adv->{json}{data}{pipeline},
           oauthToken => $rt });
is $r->{json}{data}{detail}, 'Could not fetch an access token from Jira',
   'access token timeout';

$jira->respond(access_token => { status => 200, body => 'oauth_token=x' });
$adv = config();
($rt) = $adv->{json}{data}{oauthUrl} =~ /oauth_token=(.+)$/;
$r = step({ step => 'oauth_callback', pipeline => $adv->{json}{data}{pipeline},
           oauthToken => $rt });
is $r->{json}{data}{detail}, 'Could not fetch an access token from Jira',
   'access token answer without a secret';
$jira->clear_responses;

is integrations(), 0, 'no integration after access-token failures';
is pipelines(), 0, 'no pipeline left';

# an expired pipeline
$adv = config();
($rt) = $adv->{json}{data}{oauthUrl} =~ /oauth_token=(.+)$/;
$jira->approve($rt);
$t->dbh->do(q{UPDATE setup_pipeline SET expires_at = now() - interval '1 s'});
$jira->reset_requests;
$r = step({ step => 'oauth_callback', pipeline => $adv->{json}{data}{pipeline},
           oauthToken => $rt });
is $r->{status}, 404, 'expired pipeline: 404';
is $r->{json}{detail}, 'No active pipeline session', 'expired: detail';
is scalar $jira->requests, 0, 'expired: Jira is not called';

# the scripted install succeeds
$r = $jira->install($t, org => $org, token => $token, api => 1,
                    private_key => $keys->{private_key});
is $r->{status}, 200, 'oauth_callback: 200';
is $r->{json}{status}, 'complete', 'complete';
is $r->{json}{data}{provider}, 'jira_server', 'provider';
is $r->{json}{data}{externalId}, "$jira_host:sentry-bot", 'externalId';
my $iid = $t->value('SELECT id FROM integration WHERE external_id = ?',
                    "$jira_host:sentry-bot");
is $r->{json}{data}{id}, "$iid", 'id is the integration\'s, as a string';

@calls = $jira->requests('access_token');
is scalar @calls, 1, 'one access-token call';
is $calls[0]{signature}, 'valid', 'access token: signature valid';
is $calls[0]{oauth}{oauth_token}, $r->{request_token},
   'signed with the request token';
like $calls[0]{authorization},
     qr/oauth_verifier="\Q$r->{request_token}\E"/,
     'the callback\'s oauth_token is the verifier (Sentry test)';

my $again = step({ step => 'oauth_callback',
                   pipeline => $r->{advance}{json}{data}{pipeline},
                   oauthToken => $r->{request_token} });
is $again->{status}, 200, 'the last step again: 200';
is_deeply $again->{json}, $r->{json}, 'and the same answer';
is scalar $jira->requests('access_token'), 1, 'without a second Jira call';

my $cb = $t->http('GET', '/extensions/jira-server/setup/callback/'
                         . "?oauth_token=$r->{request_token}");
is $cb->{status}, 404, 'the browser callback after the API finished: 404';
like $cb->{content}, qr/Setup Error/, 'Setup Error page';

# the pipeline lives in PostgreSQL only: another nginx finishes it
$t->dbh->do('DELETE FROM integration');
$adv = config();
($rt) = $adv->{json}{data}{oauthUrl} =~ /oauth_token=(.+)$/;
(my $back = $jira->approve($rt)) =~ s{^http://[^/]+}{};
$t->stop_nginx;
$t->start_nginx(%{ $t->{nginx_opts} });
$r = $t->http('GET', $back);
is $r->{status}, 200, 'a restarted nginx finishes a pipeline begun before';

# --- the browser callback ------------------------------------------------

$t->dbh->do('DELETE FROM integration');
$jira->reset_requests;
$t->mark_log;

$r = $jira->install($t, org => $org, token => $token,
                    private_key => $keys->{private_key});
is $r->{status}, 200, 'callback: 200';
like $r->{headers}{'content-type'}, qr{^text/html; charset=utf-8$},
     'callback: HTML';
like $r->{content}, qr{<title>Jira Server connected</title>}, 'connected page';
like $r->{content}, qr{<strong>sentry-bot</strong>}, 'names the integration';
like $r->{content}, qr{<code>\Q$jira_host:sentry-bot\E</code>},
     'and its external id';
unlike $r->{content}, qr{<(?:script|link|img)\b|src=|href=}i,
       'self-contained: nothing loaded from elsewhere';
is $t->value('SELECT count(*) FROM integration WHERE external_id = ?',
             "$jira_host:sentry-bot"), 1, 'the callback built the integration';

$row = $t->rows('SELECT * FROM setup_pipeline WHERE id = ?',
                $r->{advance}{json}{data}{pipeline})->[0];
ok defined $row->{claimed_at}, 'pipeline claimed';
is $row->{integration_id}, $iid = $t->value(
   'SELECT id FROM integration WHERE external_id = ?', "$jira_host:sentry-bot"),
   'pipeline names its integration';
is length $row->{state}, 0, 'the sealed state is wiped once finished';

my $log = $t->log_since;
unlike $log, qr/\Q$r->{request_token}\E/,
       'the request token is not in the error log';
unlike $t->slurp($t->dir . '/access.log'), qr/\Q$r->{request_token}\E/,
       'nor in the access log';

my $path = '/extensions/jira-server/setup/callback/?oauth_token='
         . $r->{request_token};
$cb = $t->http('GET', $path);
is $cb->{status}, 404, 'a used request token: 404';
like $cb->{content}, qr{<title>Setup Error</title>}, 'used: Setup Error';
like $cb->{content}, qr{No active pipeline session}, 'used: message';

$cb = $t->http('GET', '/extensions/jira-server/setup/callback/'
                      . '?oauth_token=rt-unknown');
is $cb->{status}, 404, 'unknown request token: 404';
like $cb->{content}, qr{Setup Error}, 'unknown: Setup Error';

$cb = $t->http('GET', '/extensions/jira-server/setup/callback/');
is $cb->{status}, 400, 'no oauth_token: 400';
like $cb->{content}, qr{Setup Error.*Missing oauth_token}s,
     'no oauth_token: message';

$cb = $t->http('GET', '/extensions/jira-server/setup/callback');
is $cb->{status}, 400, 'without the trailing slash too';

$cb = $t->http('POST', '/extensions/jira-server/setup/callback/', body => '');
is $cb->{status}, 405, 'POST to the callback: 405';

# expired
$adv = config();
($rt) = $adv->{json}{data}{oauthUrl} =~ /oauth_token=(.+)$/;
my $location = $jira->approve($rt);
$t->dbh->do(q{UPDATE setup_pipeline SET expires_at = now() - interval '1 s'
               WHERE id = ?}, undef, $adv->{json}{data}{pipeline});
($path = $location) =~ s{^http://[^/]+}{};
$cb = $t->http('GET', $path);
is $cb->{status}, 404, 'expired request token: 404';
like $cb->{content}, qr{Setup Error}, 'expired: Setup Error';

# Jira refuses the access token: the page says why
$t->dbh->do('DELETE FROM setup_pipeline');
$jira->respond(access_token => { status => 401,
                                 body => 'oauth_problem=token_rejected' });
$r = $jira->install($t, org => $org, token => $token,
                    private_key => $keys->{private_key});
is $r->{status}, 400, 'callback, access token refused: 400';
like $r->{content}, qr{<h1[ ]class="error">Setup[ ]Error</h1>\s*
                       <p>Could[ ]not[ ]fetch[ ]an[ ]access[ ]token[ ]from
                       [ ]Jira</p>}x,
     'the page shows Sentry\'s message';
is pipelines(), 0, 'the failed pipeline is dropped';
$jira->clear_responses;

# a server that sends oauth_verifier: it is used instead of the token
$jira->set(send_verifier => 1);
$t->dbh->do('DELETE FROM integration');
$jira->reset_requests;
$r = $jira->install($t, org => $org, token => $token,
                    private_key => $keys->{private_key});
is $r->{status}, 200, 'callback with oauth_verifier: 200';
my ($at) = $jira->requests('access_token');
like $at->{oauth}{oauth_verifier}, qr/^v-[0-9a-f]{40}$/,
     'the verifier Jira sent signs the access-token call';
unlike $t->slurp($t->dir . '/access.log'), qr/\Q$at->{oauth}{oauth_verifier}\E/,
       'the verifier is masked in the access log';
$jira->set(send_verifier => 0);

# values from the installation data are escaped in the page
$t->dbh->do('DELETE FROM integration');
$jira->set(consumer_key => '<b>&"x"');
$r = $jira->install($t, org => $org, token => $token,
                    consumer_key => '<b>&"x"',
                    private_key => $keys->{private_key});
is $r->{status}, 200, 'odd consumer key: 200';
like $r->{content}, qr{<strong>&lt;b&gt;&amp;&quot;x&quot;</strong>},
     'HTML-escaped';
unlike $r->{content}, qr{<b>&}, 'never raw';

# nothing secret in the logs
$log = $t->error_log;
my ($pem_line) = $keys->{private_key} =~ /\n([A-Za-z0-9+\/]{40,})\n/;
unlike $log, qr/\Q$pem_line\E/, 'the private key is not logged';
for my $access (keys %{ $jira->state->{access_tokens} }) {
    unlike $log, qr/\Q$access\E/, 'no access token in the log';
    unlike $log, qr/\Q$jira->state->{access_tokens}{$access}\E/,
           'no access token secret in the log';
}
for my $req (values %{ $jira->state->{request_tokens} }) {
    unlike $log, qr/\Q$req->{secret}\E/, 'no request token secret in the log';
}

done_testing;
