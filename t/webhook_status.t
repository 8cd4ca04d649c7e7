# Inbound status sync (sentry-behaviour.md §2.4): with sync_status_reverse
# a Jira status change resolves the linked groups when the new status is
# in the "done" category and the old one is not, and unresolves them in
# the reverse case.  The categories come from GET /rest/api/2/status of
# the Jira test server, with the credentials of an integration installed
# through the setup pipeline.

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

my $ON = { sync_status_reverse => JSON::PP::true };
my $n = 0;

# an organization with the integration, its issue linked to a group
sub linked {
    my (%o) = @_;
    return $t->scenario(integration => $integration,
                        key => $o{key} // 'ST-' . ++$n,
                        config => $o{config} // $ON, %o);
}

# Jira moves the issue from one status to another (ids of the test
# server's list: 10000 To Do and 10101 In Progress are not done, 10102
# Done and 6 Closed are)
sub moved {
    my ($s, $from, $to, %o) = @_;
    my $id = $o{id} // 'c' . ++$n . "-$$";
    return {
        timestamp => 1700000000000,
        webhookEvent => 'jira:issue_updated',
        issue_event_type_name => 'issue_generic',
        user => { name => 'alice', key => 'JIRAUSER10001' },
        issue => { id => '10042', key => $s->{key},
                   fields => { status => { id => $to },
                               %{ $o{fields} // {} } } },
        changelog => { id => $id, items => [
            { field => 'status', fieldtype => 'jira', fieldId => 'status',
              from => $from, fromString => $from && "S$from", to => $to,
              toString => "S$to" },
            @{ $o{items} // [] } ] } };
}

sub post {
    my ($s, $payload) = @_;
    $t->mark_log;
    $jira->reset_requests;
    return $t->webhook($s->{token}, $payload);
}

sub group_status {
    my ($g) = @_;
    my $row = $t->rows('SELECT status, substatus FROM issue_group'
                       . ' WHERE id = ?', $g)->[0];
    return [ $row->{status}, $row->{substatus} ];
}

# [type, data] of every activity of a group, oldest first
sub activities {
    my ($g) = @_;
    return [ map { [ $_->{type}, json_decode($_->{data}) ] }
             @{ $t->rows('SELECT type, data::text AS data FROM activity'
                         . ' WHERE group_id = ? ORDER BY id', $g) } ];
}

# [status, organization, project] of every history row of a group
sub history {
    my ($g) = @_;
    return [ map { [ $_->{status}, $_->{organization_id},
                     $_->{project_id} ] }
             @{ $t->rows('SELECT status, organization_id, project_id'
                         . ' FROM group_history WHERE group_id = ?'
                         . ' ORDER BY id', $g) } ];
}

sub fetches { scalar $jira->requests('status_list') }

my $SOURCE = { provider => 'Jira Server', provider_key => 'jira_server',
               integration_id => 0 + $integration };

# --- nothing to sync: Jira is not asked ------------------------------------

{
    my $before = $t->snapshot;

    for my $case ([ 'sync_status_reverse off', config => {} ],
                  [ 'sync_status_reverse false',
                    config => { sync_status_reverse => JSON::PP::false } ],
                  [ 'sync_status_reverse "true"',
                    config => { sync_status_reverse => 'true' } ],
                  [ 'only sync_reverse_assignment',
                    config => { sync_reverse_assignment => JSON::PP::true } ],
                  [ 'feature flag off', feature => 0 ]) {
        my ($name, %o) = @$case;
        my $s = linked(%o);
        $r = post($s, moved($s, '10000', '10102'));
        is $r->{status}, 200, "$name: 200";
        is_deeply group_status($s->{group}), [0, undef],
                  "$name: the group stays unresolved";
        is fetches(), 0, "$name: Jira not asked";
        like $t->log_since,
             qr/no-affected-groups\ integration_id=$integration
                \ issue_key="$s->{key}"\ field=status/x,
             "$name: logged";
    }

    my $s = linked();
    $r = post($s, moved({ key => 'NOWHERE-1' }, '10000', '10102'));
    is $r->{status}, 200, 'an issue linked nowhere: 200';
    is fetches(), 0, 'an issue linked nowhere: Jira not asked';

    is $t->value('SELECT count(*) FROM activity'), $before->{activity},
       'no activity for any of these';
}

# --- Jira unreachable while the statuses are fetched: 503 ------------------

{
    my $s = linked();
    my $bob = $t->user($s, email => 'bob@example.com');
    $t->dbh->do(q{UPDATE organization_integration SET config =
                    '{"sync_status_reverse": true,
                      "sync_reverse_assignment": true}'
                  WHERE organization_id = ?}, undef, $s->{org});

    # an assignee change in the same delivery is not applied either
    my $both = sub {
        moved($s, '10000', '10102', items => [
            { field => 'assignee', from => undef, to => 'JIRAUSER10002' } ],
            fields => { assignee =>
                        JiraSyncTest::jira_user('bob@example.com') });
    };
    my $p = $both->();
    my $before = $t->snapshot;

    for my $case (['unavailable', 'Jira answers 503'],
                  ['bad_gateway', 'Jira answers 502'],
                  [{ status => 429, json => {} }, 'Jira answers 429'],
                  ['hang', 'Jira times out']) {
        my ($spec, $name) = @$case;
        $jira->respond(status_list => $spec);
        $r = post($s, $p);
        is $r->{status}, 503, "$name: 503";
        ok $r->{headers}{'retry-after'}, "$name: with Retry-After";
        is_deeply $t->snapshot, $before, "$name: nothing applied";
        is_deeply group_status($s->{group}), [0, undef],
                  "$name: the group stays unresolved";
        like $t->log_since, qr/\[error\].*jira-unavailable
                               \ integration_id=$integration
                               \ issue_key="$s->{key}"
                               \ call="GET\ \/rest\/api\/2\/status"/x,
             "$name: logged";
    }

    # Jira refuses: not worth a retry, the rest is applied
    $jira->respond(status_list => { status => 403, json => {
        errorMessages => ['Forbidden'] } });
    $r = post($s, $both->());
    is $r->{status}, 200, 'Jira refuses: 200';
    is_deeply group_status($s->{group}), [0, undef],
              'Jira refuses: the status is left';
    is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
                 $s->{group}), $bob, 'Jira refuses: the assignee is applied';
    like $t->log_since, qr/\[warn\].*status-sync-failed
                           \ integration_id=$integration
                           \ issue_key="$s->{key}"
                           \Q reason="the status list could not be read:\E
                           \Q 403 Forbidden"\E/x,
         'Jira refuses: a warning';

    $jira->respond(status_list => 'malformed');
    $r = post($s, moved($s, '10000', '10102'));
    is $r->{status}, 200, 'Jira answers nonsense: 200';
    is_deeply group_status($s->{group}), [0, undef],
              'Jira answers nonsense: the status is left';

    $jira->respond(status_list => { status => 200, json => { id => 1 } });
    $r = post($s, moved($s, '10000', '10102'));
    like $t->log_since, qr/the answer is not a list of statuses/,
         'not a list: logged';

    # Jira is back: the delivery that got 503 is applied in full
    $jira->clear_responses;
    $t->dbh->do('DELETE FROM group_assignee');
    $r = post($s, $p);
    is $r->{status}, 200, 'Jira back, the 503 delivery again: 200';
    is_deeply group_status($s->{group}), [1, undef], 'resolved';
    is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
                 $s->{group}), $bob, 'and assigned, in one transaction';
    is fetches(), 1, 'the status list was fetched';
    my ($call) = $jira->requests('status_list');
    is $call->{authorization}, "Bearer $pat", 'with the stored credentials';
}

# --- resolve and unresolve ---------------------------------------------------

{
    my $s = linked();
    my $g = $s->{group};
    my $reader = $t->user($s, email => 'reader@example.com');
    my $read = $t->api_token($reader, 'event:read');
    my $issue = sub {
        $t->http('GET', "/api/0/issues/$g/",
                 headers => { Authorization => "Bearer $read" })
          ->{json}{status};
    };

    is $issue->(), 'unresolved', 'the issue read says unresolved (cached)';

    $r = post($s, moved($s, '10000', '10102'));
    is $r->{status}, 200, 'To Do -> Done: 200' or diag $r->{content};
    is $r->{content}, '', 'To Do -> Done: empty body';
    is_deeply group_status($g), [1, undef],
              'To Do -> Done: resolved, no substatus';
    is_deeply activities($g), [ [ 1, $SOURCE ] ],
              'To Do -> Done: SET_RESOLVED with the integration as source';
    is_deeply history($g), [ [ 1, $s->{org}, $s->{project} ] ],
              'To Do -> Done: group history RESOLVED';
    is $t->value('SELECT user_id FROM activity WHERE group_id = ?', $g),
       undef, 'the system acted';
    is fetches(), 0, 'the status list came from the cache';
    like $t->log_since, qr/sync_status_inbound\ integration_id=$integration
                           \ issue_key="$s->{key}"\ action=resolve
                           \ groups=1\ changed=1/x, 'logged';
    is $issue->(), 'resolved', 'the cached issue read was dropped';

    # categories that do not change: nothing
    for my $case ([ 'Done', '10102', '6', 'Closed' ],
                  [ 'To Do', '10000', '10101', 'In Progress' ]) {
        my ($a, $from, $to, $b) = @$case;
        my $before = $t->snapshot;
        $r = post($s, moved($s, $from, $to));
        is $r->{status}, 200, "$a -> $b: 200";
        is_deeply $t->snapshot, $before, "$a -> $b: nothing changed";
        is_deeply group_status($g), [1, undef], "$a -> $b: still resolved";
    }

    # into done again while resolved: no second activity
    $r = post($s, moved($s, '10101', '10102'));
    is scalar @{ activities($g) }, 1, 'already resolved: no activity';
    like $t->log_since, qr/action=resolve groups=1 changed=0/,
         'already resolved: logged as unchanged';

    $r = post($s, moved($s, '6', '10101'));
    is $r->{status}, 200, 'Closed -> In Progress: 200';
    is_deeply group_status($g), [0, 3],
              'Closed -> In Progress: unresolved, substatus ongoing';
    is_deeply activities($g), [ [ 1, $SOURCE ], [ 2, $SOURCE ] ],
              'Closed -> In Progress: SET_UNRESOLVED';
    is_deeply history($g), [ [ 1, $s->{org}, $s->{project} ],
                             [ 0, $s->{org}, $s->{project} ] ],
              'Closed -> In Progress: group history UNRESOLVED';
    is $issue->(), 'unresolved', 'the issue read follows';

    $r = post($s, moved($s, '10102', '10000'));
    is scalar @{ activities($g) }, 2,
       'already unresolved and ongoing: no activity';

    # an unresolved group with another substatus becomes ongoing, as
    # Sentry's update_group_status does
    $t->dbh->do('UPDATE issue_group SET substatus = 7 WHERE id = ?', undef,
                $g);
    post($s, moved($s, '10102', '10000'));
    is_deeply group_status($g), [0, 3], 'new -> ongoing';
    is scalar @{ activities($g) }, 3, 'with an activity';

    # an ignored group is resolved too
    $t->dbh->do('UPDATE issue_group SET status = 2, substatus = 5'
                . ' WHERE id = ?', undef, $g);
    post($s, moved($s, '10000', '10102'));
    is_deeply group_status($g), [1, undef], 'ignored -> resolved';

    # no old status: not done
    $t->dbh->do('UPDATE issue_group SET status = 0, substatus = 3'
                . ' WHERE id = ?', undef, $g);
    post($s, moved($s, undef, '10102'));
    is_deeply group_status($g), [1, undef], 'none -> Done: resolved';

    # the watermark belongs to assignee changes
    post($s, moved($s, '10102', '10000',
                   fields => { updated => '2030-01-01T00:00:00.000+0000' }));
    is_deeply group_status($g), [0, 3], 'a status change with a time';
    is $t->value('SELECT provider_assignee_updated_at FROM external_issue'
                 . ' WHERE id = ?', $s->{external_issue}), undef,
       'does not move the assignee watermark';
}

# --- an unknown status id --------------------------------------------------

{
    my $s = linked();
    my $before = $t->snapshot;
    for my $case ([ '10000', '99999' ], [ '99999', '10102' ]) {
        my ($from, $to) = @$case;
        $r = post($s, moved($s, $from, $to));
        is $r->{status}, 200, "$from -> $to: 200";
        is_deeply $t->snapshot, $before, "$from -> $to: nothing changed";
        is_deeply group_status($s->{group}), [0, undef],
                  "$from -> $to: still unresolved";
        like $t->log_since,
             qr/\Qunknown-status integration_id=$integration\E
                \Q issue_key="$s->{key}" from="$from" to="$to"\E/x,
             "$from -> $to: logged";
    }
}

# --- which groups ---------------------------------------------------------

{
    # one issue linked from two organizations, one without the switch
    my $one = linked(key => 'MULTI-1');
    my $two = linked(key => 'MULTI-1', config => {});
    my $extra = $t->group($one);
    post($one, moved($one, '10000', '10102'));
    is_deeply group_status($one->{group}), [1, undef],
              'the organization with sync_status_reverse: resolved';
    is_deeply group_status($extra), [1, undef], 'every linked group';
    is_deeply group_status($two->{group}), [0, undef],
              'the other organization: unchanged';
    like $t->log_since, qr/action=resolve groups=2 changed=2/, 'two groups';

    # the same delivery twice: applied once
    my $s = linked();
    my $p = moved($s, '10000', '10102', id => 'twice-1');
    post($s, $p);
    $t->dbh->do('UPDATE issue_group SET status = 0 WHERE id = ?', undef,
                $s->{group});
    $r = post($s, $p);
    is $r->{status}, 200, 'a repeated delivery: 200';
    is_deeply group_status($s->{group}), [0, undef],
              'a repeated delivery: not applied again';
    is scalar @{ activities($s->{group}) }, 1, 'one activity';
    like $t->log_since, qr/duplicate-delivery .* changelog_id="twice-1"/,
         'logged as a duplicate';
}

done_testing;
