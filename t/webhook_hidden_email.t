# Hidden emails: an assignee whose webhook bean has no emailAddress is
# looked up in Jira by the changelog's user key (GET /rest/api/2/user?key=)
# with the integration's stored credentials, installed end to end through
# the setup pipeline against the Jira test server.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JiraMock;
use JiraSyncTest qw(json_decode);

my ($t, $jira, $keys) = JiraMock->start;

# --- an installed integration ------------------------------------------

my $home = $t->scenario;
my $org = $t->value('SELECT slug FROM organization WHERE id = ?',
                    $home->{org});
my $admin = $t->user($home, email => 'admin@example.com');
my $api = $t->api_token($admin, 'org:integrations');
my $pat = $jira->state->{pat};

my $integration = $jira->install_pat($t, org => $org, token => $api);
my $r;

# another organization with the integration: the feature and
# sync_reverse_assignment on, issue APP-1 linked to a group
my $s = $t->scenario(integration => $integration);
my $bob = $t->user($s, email => 'bob@example.com');

sub assignee {
    my ($group) = @_;
    return $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
                     $group // $s->{group});
}

# Jira assigns the issue to the user with this key, without an email
sub hidden {
    my ($key, %o) = @_;
    my $user = JiraSyncTest::jira_user(undef);
    $user->{key} = $key;
    my $p = $t->assign_payload($o{issue} // $s->{key}, $user,
                               (defined $o{id} ? (changelog_id => $o{id})
                                               : ()));
    $p->{changelog}{items}[0]{to} = $key;
    return $p;
}

sub post {
    my ($payload, $sc) = @_;
    $t->mark_log;
    $jira->reset_requests;
    return $t->webhook(($sc // $s)->{token}, $payload);
}

sub lookups { scalar $jira->requests('user') }

# --- the email comes from Jira -------------------------------------------

$jira->add_user(key => 'JIRAUSER10002', name => 'bob',
                email => 'bob@example.com');

$r = post(hidden('JIRAUSER10002'));
is $r->{status}, 200, 'hidden email: 200' or diag $r->{content};
is $r->{content}, '', 'hidden email: empty body';
is assignee(), $bob, 'hidden email: assigned to the user Jira names';
my ($call) = $jira->requests('user');
is $call->{query}, 'key=JIRAUSER10002', 'looked up by the changelog key';
is $call->{authorization}, "Bearer $pat", 'with the stored credentials';
is_deeply [ map { [ $_->{type}, json_decode($_->{data}) ] }
            @{ $t->rows('SELECT type, data::text AS data FROM activity'
                        . ' WHERE group_id = ?', $s->{group}) } ],
          [ [ 11, { assignee => "$bob", assigneeEmail => 'bob@example.com',
                    assigneeType => 'user' } ] ],
          'hidden email: the activity of an assignment';
like $t->log_since, qr/assignee-email-from-jira\ issue_key="APP-1"
                       \ integration_id=$integration
                       \ user_key="JIRAUSER10002"/x, 'logged';
unlike $t->log_since, qr/bob\@example\.com/, 'the email is not logged';
unlike $t->error_log, qr/\Q$pat\E/, 'the PAT is never logged';

# the changelog's key wins over the bean's
{
    my $p = hidden('JIRAUSER10002');
    $p->{issue}{fields}{assignee}{key} = 'JIRAUSER99999';
    $t->webhook($s->{token}, $t->assign_payload($s->{key}, undef));
    ok !defined assignee(), 'unassigned in between';
    post($p);
    is assignee(), $bob, 'the changelog key is the one looked up';
    is lookups(), 0, 'and the answer came from the cache';
}

# no key in the changelog item: the bean's key
{
    my $carol = $t->user($s, email => 'carol@example.com');
    $jira->add_user(key => 'carol', email => 'Carol@Example.com');
    my $p = hidden('carol');
    $p->{changelog}{items}[0]{to} = undef;
    post($p);
    is assignee(), $carol, 'the bean\'s key without a changelog key';
    is_deeply [ map { $_->{query} } $jira->requests('user') ],
              ['key=carol'], 'looked up once';
}

# a key that needs escaping in the query
{
    my $dave = $t->user($s, email => 'dave@example.com');
    my $key = "d\x{e4}ve o'brien+1/2&x=y";
    $jira->add_user(key => $key, email => 'dave@example.com');
    utf8::encode(my $bytes = $key);         # the payload is UTF-8
    post(hidden($bytes));
    is assignee(), $dave, 'an odd key: found';
    is(($jira->requests('user'))[0]{query},
       'key=d%C3%A4ve%20o%27brien%2B1%2F2%26x%3Dy', 'percent-encoded');
}

# --- nothing to use: nothing changes ---------------------------------------

{
    my $before = $t->snapshot;

    $jira->add_user(key => 'JIRAUSER20001', name => 'erin');
    $r = post(hidden('JIRAUSER20001'));
    is $r->{status}, 200, 'Jira shows no email: 200';
    is_deeply $t->snapshot, $before, 'Jira shows no email: nothing changed';
    like $t->log_since, qr/\Qmissing-assignee-email issue_key="APP-1"\E
                           \Q integration_id=$integration\E
                           \Q user_key="JIRAUSER20001"\E
                           \Q reason="Jira shows no email for this user"\E/x,
         'Jira shows no email: logged';

    $r = post(hidden('JIRAUSER20002'));
    is $r->{status}, 200, 'no such user: 200';
    is_deeply $t->snapshot, $before, 'no such user: nothing changed';
    like $t->log_since, qr/missing-assignee-email\ .*
                           \Q user_key="JIRAUSER20002"\E
                           \Q reason="Jira has no user with this key"\E/x,
         'no such user: logged';

    my $p = hidden('JIRAUSER20003');
    $p->{changelog}{items}[0]{to} = undef;
    delete $p->{issue}{fields}{assignee}{key};
    $r = post($p);
    is $r->{status}, 200, 'no key at all: 200';
    is lookups(), 0, 'no key at all: Jira not asked';
    like $t->log_since, qr/reason="the changelog names no user key"/,
         'no key at all: logged';

    $jira->respond(user => { status => 401, json => { errorMessages => [
        'You are not authenticated.'] } });
    $r = post(hidden('JIRAUSER20004'));
    is $r->{status}, 200, 'Jira refuses: 200';
    is_deeply $t->snapshot, $before, 'Jira refuses: nothing changed';
    like $t->log_since, qr/\[warn\].*missing-assignee-email\ .*
                           \Q user_key="JIRAUSER20004"\E
                           \Q reason="the user lookup failed: 401\E
                           \Q You are not authenticated."\E/x,
         'Jira refuses: a warning with Jira\'s message';

    $jira->respond(user => 'malformed');
    $r = post(hidden('JIRAUSER20005'));
    is $r->{status}, 200, 'Jira answers nonsense: 200';
    is_deeply $t->snapshot, $before, 'Jira answers nonsense: nothing changed';
    $jira->clear_responses;

    # the answers without an email are kept briefly too
    post(hidden('JIRAUSER20001'));
    is lookups(), 0, 'no email: the answer is reused';
    post(hidden('JIRAUSER20004'));
    is lookups(), 1, 'a failed lookup is not kept';
}

# --- Jira unreachable: 503 and nothing applied -----------------------------

{
    my $frank = $t->user($s, email => 'frank@example.com');
    $jira->add_user(key => 'JIRAUSER30001', email => 'frank@example.com');
    my $before = $t->snapshot;

    # with a status change in the same delivery: neither is applied
    my $p = hidden('JIRAUSER30001');
    push @{ $p->{changelog}{items} }, { field => 'status', from => '10000',
                                        to => '10102' };

    for my $case (['unavailable', 'Jira answers 503'],
                  ['bad_gateway', 'Jira answers 502'],
                  ['hang', 'Jira times out']) {
        my ($spec, $name) = @$case;
        $jira->respond(user => $spec);
        $r = post($p);
        is $r->{status}, 503, "$name: 503";
        ok $r->{headers}{'retry-after'}, "$name: with Retry-After";
        is_deeply $t->snapshot, $before, "$name: nothing applied";
        like $t->log_since, qr/\[error\].*jira-unavailable
                               \ integration_id=$integration
                               \ issue_key="APP-1"
                               \ call="GET\ \/rest\/api\/2\/user"/x,
             "$name: logged";
    }

    $jira->clear_responses;
    $r = post($p);
    is $r->{status}, 200, 'Jira back, the same delivery: 200';
    is assignee(), $frank, 'and applied: the 503 left no trace';
}

# --- when Jira is not asked ------------------------------------------------

{
    # an issue linked nowhere
    $r = post(hidden('JIRAUSER10002', issue => 'NOPE-1'));
    is $r->{status}, 200, 'unlinked issue: 200';
    is lookups(), 0, 'unlinked issue: Jira not asked';
    like $t->log_since, qr/missing-assignee-email issue_key="NOPE-1"/,
         'unlinked issue: logged as Sentry does';

    # an organization without sync_reverse_assignment
    my $off = $t->scenario(integration => $integration, key => 'OFF-1',
                           config => {});
    $t->user($off, email => 'bob@example.com');
    $r = post(hidden('JIRAUSER30002', issue => 'OFF-1'), $off);
    is lookups(), 0, 'sync_reverse_assignment off: Jira not asked';
    ok !defined assignee($off->{group}), 'and nothing assigned';

    # the feature flag off
    my $nofeature = $t->scenario(integration => $integration,
                                 key => 'NOF-1', feature => 0);
    $t->user($nofeature, email => 'bob@example.com');
    post(hidden('JIRAUSER30003', issue => 'NOF-1'), $nofeature);
    is lookups(), 0, 'feature off: Jira not asked';

    # the email in the webhook
    my $grace = $t->user($s, email => 'grace@example.com');
    post($t->assign_payload($s->{key},
                            JiraSyncTest::jira_user('grace@example.com')));
    is assignee(), $grace, 'email in the webhook: assigned';
    is lookups(), 0, 'email in the webhook: Jira not asked';

    # a delivery seen before is not looked up again
    my $p = hidden('JIRAUSER30004', id => 'seen-1');
    $jira->add_user(key => 'JIRAUSER30004', email => 'bob@example.com');
    post($p);
    is assignee(), $bob, 'a delivery';
    $t->webhook($s->{token}, $t->assign_payload($s->{key}, undef));
    $r = post($p);
    is $r->{status}, 200, 'the same delivery again: 200';
    ok !defined assignee(), 'and not applied again';
    like $t->log_since, qr/duplicate-delivery .* changelog_id="seen-1"/,
         'logged as a duplicate';
}

# --- an integration without credentials to use ------------------------------

{
    my $fixture = $t->scenario(key => 'FIX-1');
    $t->user($fixture, email => 'bob@example.com');
    my $before = $t->snapshot;
    $r = post(hidden('JIRAUSER10002', issue => 'FIX-1'), $fixture);
    is $r->{status}, 200, 'no identity: 200';
    is_deeply $t->snapshot, $before, 'no identity: nothing changed';
    like $t->log_since, qr/\[warn\].*missing-assignee-email\ issue_key="FIX-1"
                           .*\Q reason="Identity not found."\E/x,
         'no identity: logged';
}

# --- OAuth 1.0a: the query is part of the signature ------------------------

{
    my $o = $t->scenario;
    my $oorg = $t->value('SELECT slug FROM organization WHERE id = ?',
                         $o->{org});
    my $ouser = $t->user($o, email => 'oauth-admin@example.com');
    my $otoken = $t->api_token($ouser, 'org:integrations');
    my $res = $jira->install($t, org => $oorg, token => $otoken,
                             private_key => $keys->{private_key});
    is $res->{status}, 200, 'OAuth install' or diag explain $res;
    my $oid = $t->value("SELECT id FROM integration WHERE external_id ="
                        . " ? ", '127.0.0.1:' . $jira->port
                                 . ':sentry-bot');
    ok $oid, 'the OAuth integration';

    my $os = $t->scenario(integration => $oid, key => 'OA-1');
    my $heidi = $t->user($os, email => 'heidi@example.com');
    $jira->add_user(key => 'heidi h', email => 'heidi@example.com');
    $r = post(hidden('heidi h', issue => 'OA-1'), $os);
    is $r->{status}, 200, 'OAuth: 200';
    is assignee($os->{group}), $heidi, 'OAuth: assigned';
    my ($c) = $jira->requests('user');
    is $c->{auth}, 'oauth', 'OAuth: signed';
    is $c->{signature}, 'valid', 'OAuth: the signature covers the query';
}

done_testing;
