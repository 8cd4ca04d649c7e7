# Secrets stay out of the logs: the webhook URL's token (the credential
# for posting webhooks), the webhook secret, and bearer tokens.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest qw(jwt);

my $t = JiraSyncTest->new;
my $s = $t->scenario;
my $u = $t->user($s, email => 'bob@example.com');
my $api = $t->api_token($u, 'event:read');
# a new delivery each time: a repeated changelog id is a duplicate
sub assign { $t->assign_payload($s->{key},
                                JiraSyncTest::jira_user('bob@example.com')) }

my $wrong = jwt({ id => $s->{external_id} }, 'not-the-secret');
my $unknown = jwt({ id => 'nobody.example.com:x' }, 'x');

is $t->webhook($s->{token}, assign())->{status}, 200, 'valid delivery';
is $t->webhook($wrong, assign())->{status}, 400, 'wrong secret';
is $t->webhook($unknown, assign())->{status}, 400, 'unknown integration';
is $t->webhook("$s->{token}x", assign())->{status}, 400, 'garbled token';
is $t->webhook($s->{token}, '{"broken')->{status}, 400, 'broken body';
is $t->http('GET', "/api/0/issues/$s->{group}/",
            headers => { Authorization => "Bearer $api" })->{status}, 200,
   'issue read';
is $t->http('GET', "/api/0/issues/$s->{group}/",
            headers => { Authorization => "Bearer ${api}x" })->{status},
   401, 'issue read with a wrong token';

$t->stop_pg;
is $t->webhook($s->{token}, assign())->{status}, 503, 'database down';
$t->start_pg;

my $error = $t->error_log;
my $access = $t->slurp("$t->{dir}/access.log");

like $error, qr/token-validation-error/, 'the error log has the failures';
like $access, qr{issue-updated/<token>/}, 'the access log shows a mask';

for my $secret ([ 'the URL token', $s->{token} ],
                [ 'a wrong token', $wrong ],
                [ 'the token of no integration', $unknown ],
                [ 'the webhook secret', $s->{secret} ],
                [ 'the bearer token', $api ])
{
    my ($name, $value) = @$secret;
    # the signature part alone is enough to leak
    my $tail = substr $value, -20;
    unlike $error, qr/\Q$tail\E/, "$name is not in the error log";
    unlike $access, qr/\Q$tail\E/, "$name is not in the access log";
}

done_testing;
