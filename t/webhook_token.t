# The webhook URL's token: every failure in Sentry's order and wording
# (sentry-behaviour.md §2.1, §2.2), the methods and paths the endpoint
# answers, and an inactive integration.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JiraSyncTest qw(jwt b64url);

my $t = JiraSyncTest->new;

my $WEBHOOK = '/extensions/jira-server/issue-updated';

# --- helpers ---------------------------------------------------------------

# an assignment this scenario would accept: a member with a verified email
sub assignable {
    my ($s) = @_;
    my $u = $t->user($s);
    my $email = $t->value('SELECT email FROM app_user WHERE id = ?', $u);
    return ($u, $t->assign_payload($s->{key},
                                   JiraSyncTest::jira_user($email)));
}

sub assignee_of {
    my ($group) = @_;
    return $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
                     $group);
}

sub post {
    my ($path, $body) = @_;
    return $t->http('POST', $path, body => JiraSyncTest::json_encode($body),
                    headers => { 'Content-Type' => 'application/json' });
}

# 400 {"detail": $detail}, logged as a token error, and no row touched
sub rejected {
    my ($name, $res, $detail, $before) = @_;
    subtest $name => sub {
        is $res->{status}, 400, 'status 400';
        like $res->{headers}{'content-type'} // '', qr{^application/json},
            'JSON content type';
        is_deeply $res->{json}, { detail => $detail }, 'detail'
            or diag $res->{content};
        like $t->log_since,
             qr/jira_sync: token-validation-error\b.*error="\Q$detail\E"/,
             'logged token-validation-error';
        is_deeply $t->snapshot, $before, 'nothing changed';
    };
}

# 200 with an empty body, and the group now has the user
sub accepted {
    my ($name, $res, $s, $u) = @_;
    subtest $name => sub {
        is $res->{status}, 200, 'status 200' or diag $res->{content};
        is $res->{content}, '', 'empty body';
        is assignee_of($s->{group}), $u, 'group assigned';
    };
}

# --- token failures, in Sentry's order ---------------------------------------

my $s = $t->scenario;
my $other = $t->scenario;
my ($u, $payload) = assignable($s);
my $before = $t->snapshot;

my @cases = (
    [ 'empty token, doubled slash', "$WEBHOOK//", 'Token was empty' ],
    [ 'empty token, no token segment', "$WEBHOOK/", 'Token was empty' ],
    [ 'a single space is a token, and not a JWT', "$WEBHOOK/%20/",
      'Could not decode JWT token' ],
    [ 'garbage', "$WEBHOOK/not-a-jwt/", 'Could not decode JWT token' ],
    [ 'two segments only', "$WEBHOOK/" . b64url('{"alg":"HS256"}') . '.'
                         . b64url('{"id":"x"}') . '/',
      'Could not decode JWT token' ],
    [ 'claims are not JSON', "$WEBHOOK/" . b64url('{"alg":"HS256"}') . '.'
                           . b64url('id=x') . '.sig/',
      'Could not decode JWT token' ],
    [ 'claims without id',
      "$WEBHOOK/" . jwt({ sub => $s->{external_id} }, $s->{secret}) . '/',
      'Token did not contain `id`' ],
    [ 'unknown external id',
      "$WEBHOOK/" . jwt({ id => 'nowhere.example.com:consumer' },
                        $s->{secret}) . '/',
      'Could not find integration for token' ],
    [ 'wrong secret',
      "$WEBHOOK/" . jwt({ id => $s->{external_id} }, 'not the secret') . '/',
      'Could not validate JWT. Got Signature verification failed' ],
    [ 'alg none, no signature',
      "$WEBHOOK/" . b64url('{"alg":"none","typ":"JWT"}') . '.'
                  . b64url(qq({"id":"$s->{external_id}"})) . './',
      'Could not validate JWT. Got The specified alg value is not allowed' ],
    [ 'alg none, signed with the secret',
      "$WEBHOOK/" . jwt({ id => $s->{external_id} }, $s->{secret},
                        header => '{"alg":"none","typ":"JWT"}') . '/',
      'Could not validate JWT. Got The specified alg value is not allowed' ],
    [ 'alg RS256 header, HMAC signature',
      "$WEBHOOK/" . jwt({ id => $s->{external_id} }, $s->{secret},
                        header => '{"alg":"RS256","typ":"JWT"}') . '/',
      'Could not validate JWT. Got The specified alg value is not allowed' ],
    [ 'alg HS512 header',
      "$WEBHOOK/" . jwt({ id => $s->{external_id} }, $s->{secret},
                        header => '{"alg":"HS512","typ":"JWT"}') . '/',
      'Could not validate JWT. Got The specified alg value is not allowed' ],
    [ 'expired',
      "$WEBHOOK/" . jwt({ id => $s->{external_id}, exp => time - 3600 },
                        $s->{secret}) . '/',
      'Could not validate JWT. Got Signature has expired' ],
    [ 'claims re-signed: id of another integration, first one\'s secret',
      "$WEBHOOK/" . jwt({ id => $other->{external_id} }, $s->{secret}) . '/',
      'Could not validate JWT. Got Signature verification failed' ],
    [ 'claims swapped under the first token\'s signature',
      "$WEBHOOK/" . join('.', (split /\./, $s->{token})[0],
                         b64url(qq({"id":"$other->{external_id}"})),
                         (split /\./, $s->{token})[2]) . '/',
      'Could not validate JWT. Got Signature verification failed' ],
    [ 'claims with an extra member under the original signature',
      "$WEBHOOK/" . join('.', (split /\./, $s->{token})[0],
                         b64url(qq({"id":"$s->{external_id}","x":1})),
                         (split /\./, $s->{token})[2]) . '/',
      'Could not validate JWT. Got Signature verification failed' ],
);

for my $case (@cases) {
    my ($name, $path, $detail) = @$case;
    $t->mark_log;
    rejected($name, post($path, $payload), $detail, $before);
}

is assignee_of($other->{group}), undef,
   'the other integration\'s group was not touched';

# the same payload with the right token does change the rows
accepted('valid token, same payload', $t->webhook($s->{token}, $payload),
         $s, $u);

# --- methods ---------------------------------------------------------------

{
    my $m = $t->scenario;
    my ($mu, $mp) = assignable($m);
    my $snap = $t->snapshot;

    for my $method (qw(GET PUT DELETE)) {
        my $res = $t->http($method, "$WEBHOOK/$m->{token}/",
                           body => JiraSyncTest::json_encode($mp),
                           headers => { 'Content-Type'
                                            => 'application/json' });
        subtest "$method is not allowed" => sub {
            is $res->{status}, 405, 'status 405';
            is $res->{headers}{allow}, 'POST, OPTIONS',
               'Allow header as DRF writes it';
            is_deeply $res->{json},
                      { detail => "Method \"$method\" not allowed." },
                      'detail';
            is_deeply $t->snapshot, $snap, 'nothing changed';
        };
    }
}

# --- the URL ---------------------------------------------------------------

{
    my $n = $t->scenario;
    my ($nu, $np) = assignable($n);
    accepted('no trailing slash', post("$WEBHOOK/$n->{token}", $np),
             $n, $nu);
}

{
    my $q = $t->scenario;
    my ($qu, $qp) = assignable($q);
    accepted('extra query parameters are ignored',
             post("$WEBHOOK/$q->{token}/?user_id=admin&user_key=admin", $qp),
             $q, $qu);
}

{
    my $p = $t->scenario;
    my ($pu, $pp) = assignable($p);
    my $snap = $t->snapshot;

    my $base = '/extensions/jira-server';
    my @paths = (
        [ 'the location itself', "$base/" ],
        [ 'issue-created', "$base/issue-created/$p->{token}/" ],
        [ 'issue-updatedx', "$base/issue-updatedx/$p->{token}/" ],
        [ 'a segment after the token', "$WEBHOOK/$p->{token}/extra/" ],
        [ 'a segment after the token, no slash',
          "$WEBHOOK/$p->{token}/extra" ],
        [ 'issue-updated one level down',
          "$base/other/issue-updated/$p->{token}/" ],
        [ 'upper case', "$base/ISSUE-UPDATED/$p->{token}/" ],
    );

    for my $case (@paths) {
        my ($name, $path) = @$case;
        my $res = post($path, $pp);
        subtest "not this endpoint: $name" => sub {
            is $res->{status}, 404, 'status 404';
            is_deeply $t->snapshot, $snap, 'nothing changed';
        };
    }
}

# --- an inactive integration -------------------------------------------------

{
    my $i = $t->scenario(status => 1);
    my ($iu, $ip) = assignable($i);
    my $snap = $t->snapshot;

    $t->mark_log;
    my $res = $t->webhook($i->{token}, $ip);

    is $res->{status}, 200, 'inactive integration: status 200';
    is $res->{content}, '', 'inactive integration: empty body';
    my $id = $i->{integration};
    like $t->log_since,
         qr/jira_sync: integration-inactive integration_id=$id\b/,
         'inactive integration: logged integration-inactive';
    is_deeply $t->snapshot, $snap, 'inactive integration: nothing changed';

    # an inactive integration still has its token checked first
    $t->mark_log;
    rejected('inactive integration, wrong secret',
             $t->webhook(jwt({ id => $i->{external_id} }, 'wrong'), $ip),
             'Could not validate JWT. Got Signature verification failed',
             $snap);
}

done_testing;
