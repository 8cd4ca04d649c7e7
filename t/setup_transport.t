# How setup reaches Jira: TLS verification (verifySsl, the CA file of
# jira_sync_jira_ca_file), jira_sync_jira_proxy, the cap on answers, and
# what happens when the directives setup needs are missing.  TLS is
# terminated by the harness's own nginx in front of the Jira test server.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraMock;
use JiraSyncTest qw(json_decode);

my ($tls_trusted, $tls_unknown) = (JiraSyncTest::free_port(),
                                   JiraSyncTest::free_port());

sub certificate {
    my ($dir, $name) = @_;
    system("openssl req -x509 -newkey rsa:2048 -nodes -days 2"
           . " -keyout $dir/$name.key -out $dir/$name.crt -subj /CN=127.0.0.1"
           . " -addext subjectAltName=IP:127.0.0.1 2>/dev/null") == 0
        or die "openssl req failed";
}

# a generous limit: the 1 MiB answer below must hit the size cap, not the
# timeout, also on a loaded machine
my ($t, $jira, $keys) = JiraMock->start(timeout => '15s', http => sub {
    my ($jira, $t) = @_;
    my $dir = $t->dir;
    my $mock = $jira->port;
    my $conf = "jira_sync_jira_ca_file $dir/trusted.crt;\n";

    for my $tls ([$tls_trusted, 'trusted'], [$tls_unknown, 'unknown']) {
        my ($port, $name) = @$tls;
        certificate($dir, $name);
        $conf .= <<"CONF";
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $dir/$name.crt;
        ssl_certificate_key $dir/$name.key;
        location / {
            proxy_pass http://127.0.0.1:$mock;
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-Proto https;
        }
    }
CONF
    }

    return $conf;
});

my $s = $t->scenario;
my $org = $t->value('SELECT slug FROM organization WHERE id = ?', $s->{org});
my $alice = $t->user($s, email => 'alice@example.com');
my $token = $t->api_token($alice, 'org:integrations');

sub config {
    my ($url, $verify) = @_;
    return JiraMock->setup_step($t, $org, $token, {
        step => 'installation_config', url => $url,
        consumerKey => 'sentry-bot', privateKey => $keys->{private_key},
        verifySsl => $verify ? JSON::PP::true : JSON::PP::false });
}

# --- TLS -----------------------------------------------------------------

my $r = config("https://127.0.0.1:$tls_unknown", 1);
is $r->{status}, 400, 'unknown certificate, verifySsl: 400';
is $r->{json}{data}{detail}, 'Could not fetch a request token from Jira.'
   . " Unable to reach host: 127.0.0.1:$tls_unknown",
   'the certificate is verified';
is scalar $jira->requests, 0, 'nothing reached Jira';

$r = config("https://127.0.0.1:$tls_unknown", 0);
is $r->{json}{status}, 'advance', 'verifySsl false: the same server is used';
my ($call) = $jira->requests('request_token');
is $call->{signature}, 'valid', 'signed for the https URL';

$r = config("https://127.0.0.1:$tls_trusted", 1);
is $r->{json}{status}, 'advance',
   'a certificate from jira_sync_jira_ca_file verifies';

# the whole install over TLS, verified, keeps verifying after the callback
$jira->reset_requests;
$r = $jira->install($t, org => $org, token => $token,
                    url => "https://127.0.0.1:$tls_trusted",
                    private_key => $keys->{private_key});
is $r->{status}, 200, 'install over https: 200';
my $meta = json_decode($t->value('SELECT metadata FROM integration'
                                 . ' WHERE external_id = ?',
                                 "127.0.0.1:$tls_trusted:sentry-bot"));
is $meta->{base_url}, "https://127.0.0.1:$tls_trusted", 'https base_url';
is scalar(grep { $_->{signature} eq 'valid' }
           $jira->requests('webhook_create')), 1,
   'the webhook was created over TLS';

# verifySsl false is kept for the calls after the callback
$t->dbh->do('DELETE FROM integration');
$jira->clear_webhooks;
$r = JiraMock->setup_step($t, $org, $token, {
    step => 'installation_config', url => "https://127.0.0.1:$tls_unknown",
    consumerKey => 'sentry-bot', privateKey => $keys->{private_key},
    verifySsl => JSON::PP::false });
my ($rt) = $r->{json}{data}{oauthUrl} =~ /oauth_token=(.+)$/;
my $location = $jira->approve($rt);
(my $path = $location) =~ s{^http://[^/]+}{};
$r = $t->http('GET', $path);
is $r->{status}, 200, 'verifySsl false holds through the callback';
ok !json_decode($t->value('SELECT metadata FROM integration'))->{verify_ssl},
   'and is stored';

# --- answers too large -----------------------------------------------

$t->dbh->do('DELETE FROM integration');
$jira->clear_webhooks;
$jira->respond(server_info => { status => 200, type => 'application/json',
                                body => '"' . ('x' x (1024 * 1024)) . '"' });
$r = $jira->install($t, org => $org, token => $token,
                    private_key => $keys->{private_key});
is $r->{status}, 400, 'an answer over 1 MiB: 400';
like $r->{content}, qr/Could[ ]not[ ]create[ ]issue[ ]webhook[ ]in[ ]Jira\.
                       [ ]The[ ]answer[ ]of[ ]host[ ]127\.0\.0\.1:\d+
                       [ ]is[ ]too[ ]large/x,
     'refused, not buffered';
is $t->value('SELECT count(*) FROM integration'), 0, 'too large: no row';
$jira->clear_responses;

# --- no proxy unless configured ---------------------------------------

$r = config('http://jira.example.invalid', 0);
is $r->{json}{data}{detail}, 'Could not fetch a request token from Jira.'
   . ' Unable to reach host: jira.example.invalid',
   'without jira_sync_jira_proxy the host is reached directly';

my ($tp, $proxy, $pkeys) = JiraMock->start(http => sub {
    'jira_sync_jira_proxy http://127.0.0.1:' . $_[0]->port . ';'
});
my $ps = $tp->scenario;
my $porg = $tp->value('SELECT slug FROM organization WHERE id = ?',
                      $ps->{org});
my $puser = $tp->user($ps, email => 'pat@example.com');
my $ptoken = $tp->api_token($puser, 'org:integrations');

$r = $proxy->install($tp, org => $porg, token => $ptoken,
                     url => 'http://jira.example.invalid',
                     private_key => $pkeys->{private_key});
is $r->{status}, 200, 'through jira_sync_jira_proxy: 200';
my @calls = grep { $_->{endpoint} ne 'authorize' } $proxy->requests;
is_deeply [map { $_->{endpoint} } @calls],
          [qw(request_token access_token server_info webhook_list
              webhook_create)], 'every call went through the proxy';
is_deeply [grep { $_->{host} ne 'jira.example.invalid' } @calls], [],
          'for the configured Jira host';
is_deeply [grep { $_->{signature} ne 'valid' } @calls], [],
          'signed for the Jira URL, not the proxy';
is $tp->value('SELECT external_id FROM integration WHERE external_id LIKE'
              . " 'jira.example.invalid:%'"), 'jira.example.invalid:sentry-bot',
   'external_id names the Jira host';

# --- the directives setup needs --------------------------------------

my $bare = JiraSyncTest->new;
my $bs = $bare->scenario;
my $borg = $bare->value('SELECT slug FROM organization WHERE id = ?',
                        $bs->{org});
my $buser = $bare->user($bs, email => 'bare@example.com');
my $btoken = $bare->api_token($buser, 'org:integrations');

$bare->mark_log;
$r = JiraMock->setup_step($bare, $borg, $btoken, {
    step => 'installation_config', url => $jira->url,
    consumerKey => 'sentry-bot', privateKey => $keys->{private_key} });
is $r->{status}, 500, 'without jira_sync_public_url and the key file: 500';
is_deeply $r->{json}, { detail => 'Internal Error' }, 'no detail leaks';
like $bare->log_since, qr/Jira[ ]setup[ ]needs[ ]"jira_sync_public_url"
                          [ ]and[ ]"jira_sync_secret_key_file"/x,
     'the error log says what to configure';

$r = $bare->http('GET', '/extensions/jira-server/setup/callback/'
                        . '?oauth_token=x');
is $r->{status}, 500, 'the callback: 500 as well';

$r = JiraMock->setup_step($bare, $borg, $btoken, {
    step => 'installation_config', url => 'nope' });
is $r->{status}, 400, 'validation still answers first';

done_testing;
