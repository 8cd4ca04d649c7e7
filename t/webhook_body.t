# The webhook's request body: empty, malformed, oddly shaped, large, and
# spooled to a temporary file (SPEC §4 Webhook, sentry-behaviour.md §2.2).

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;
use JiraSyncTest;

# a small body buffer, so that any body over 1 KiB goes to a temporary file
my $t = JiraSyncTest->new(nginx => { client_body_buffer_size => '1k' });

# --- helpers ---------------------------------------------------------------

# request bodies are UTF-8 bytes
my $JSON = JSON::PP->new->utf8->canonical;
sub json_encode { $JSON->encode($_[0]) }

sub email_of {
    my ($user) = @_;
    return $t->value('SELECT email FROM app_user WHERE id = ?', $user);
}

sub assigned_user {
    my ($group) = @_;
    return $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
                     $group);
}

# a scenario whose group is assigned, and a member Jira could assign next
sub assigned_scenario {
    my $s = $t->scenario;
    $s->{current} = $t->user($s);
    $s->{next} = $t->user($s);
    $t->insert('group_assignee', project_id => $s->{project},
               group_id => $s->{group}, user_id => $s->{current});
    return $s;
}

# POST a raw body (a string, sent as it is) to the scenario's webhook
sub post_raw {
    my ($s, $body, %o) = @_;
    $t->mark_log;
    return $t->http('POST', "/extensions/jira-server/issue-updated/"
                            . "$s->{token}/", body => $body,
                    headers => { 'Content-Type' => 'application/json',
                                 %{ $o{headers} // {} } });
}

# 200, empty body, logged missing-changelog, no row changed
sub ignored {
    my ($name, $res, $before) = @_;
    subtest $name => sub {
        is $res->{status}, 200, 'status 200' or diag $res->{content};
        is $res->{content}, '', 'empty body';
        like $t->log_since, qr/jira_sync: missing-changelog\b/,
             'logged missing-changelog';
        is_deeply $t->snapshot, $before, 'nothing changed';
    };
}

# 400 with a detail that matches, no row changed
sub refused {
    my ($name, $res, $detail, $before) = @_;
    subtest $name => sub {
        is $res->{status}, 400, 'status 400' or diag $res->{content};
        like $res->{headers}{'content-type'} // '', qr{^application/json},
             'JSON content type';
        if (ref $detail) {
            like $res->{json}{detail} // '', $detail, 'detail';
        } else {
            is_deeply $res->{json}, { detail => $detail }, 'detail';
        }
        is_deeply $t->snapshot, $before, 'nothing changed';
    };
}

# the assign payload with its changelog replaced (or removed: undef)
sub with_changelog {
    my ($s, @changelog) = @_;
    my $p = $t->assign_payload($s->{key},
                               JiraSyncTest::jira_user(email_of($s->{next})));
    if (@changelog) {
        $p->{changelog} = $changelog[0];
    } else {
        delete $p->{changelog};
    }
    return $p;
}

# an issue as Jira Server sends it in full: every custom field, every
# comment and worklog; grows until its JSON is at least $size bytes
sub big_payload {
    my ($s, $size) = @_;
    my $p = $t->assign_payload($s->{key},
                               JiraSyncTest::jira_user(email_of($s->{next})));
    my $fields = $p->{issue}{fields};
    my $author = JiraSyncTest::jira_user('someone@example.com');
    my $text = join ' ', ('Stack trace and steps, Grüße, ✓, 日本語.') x 20;

    $fields->{summary} = 'NullPointerException in CheckoutService';
    $fields->{description} = $text;
    $fields->{labels} = [ map { "label-$_" } 1 .. 20 ];
    $fields->{components} = [ map { { id => "$_", name => "Component $_" } }
                              1 .. 10 ];
    for my $i (10000 .. 10299) {
        $fields->{"customfield_$i"} =
              $i % 3 == 0 ? "value $i"
            : $i % 3 == 1 ? { self => "https://jira.example.com/rest/api/2"
                                      . "/customFieldOption/$i",
                              value => "Option $i", id => "$i" }
            :               [ map { { value => "Choice $_", id => "$_" } }
                              1 .. 5 ];
    }

    my (@comments, @worklogs);
    $fields->{comment} = { comments => \@comments, startAt => 0 };
    $fields->{worklog} = { worklogs => \@worklogs, startAt => 0 };

    my $n = 0;
    while (length(json_encode($p)) < $size) {
        for (1 .. 20) {
            $n++;
            push @comments, { id => "$n", author => $author,
                              updateAuthor => $author, body => $text,
                              created => '2024-01-01T10:00:00.000+0000',
                              updated => '2024-01-01T10:00:00.000+0000' };
            push @worklogs, { id => "$n", author => $author,
                              comment => "Worked on it ($n)",
                              timeSpent => '1h', timeSpentSeconds => 3600,
                              started => '2024-01-01T10:00:00.000+0000' };
        }
        $fields->{comment}{total} = $fields->{comment}{maxResults}
                                  = scalar @comments;
        $fields->{worklog}{total} = $fields->{worklog}{maxResults}
                                  = scalar @worklogs;
    }

    return $p;
}

# --- empty and missing changelogs -------------------------------------------

{
    my $s = assigned_scenario();
    my $before = $t->snapshot;

    my $res = post_raw($s, '');
    subtest 'zero-byte body counts as {}' => sub {
        is $res->{status}, 200, 'status 200' or diag $res->{content};
        is $res->{content}, '', 'empty body';
        like $t->log_since, qr/jira_sync: missing-changelog\b/,
             'logged missing-changelog';
        unlike $t->log_since, qr/client sent invalid/,
               'nginx saw a well-formed request';
        is_deeply $t->snapshot, $before, 'nothing changed';
    };

    my @cases = (
        [ 'no changelog', with_changelog($s) ],
        [ 'changelog null', with_changelog($s, undef) ],
        [ 'changelog {}', with_changelog($s, {}) ],
        [ 'changelog []', with_changelog($s, []) ],
        [ 'changelog false', with_changelog($s, JSON::PP::false) ],
        [ 'changelog ""', with_changelog($s, '') ],
        [ 'changelog without items', with_changelog($s, { id => '1' }) ],
        [ 'changelog items null',
          with_changelog($s, { id => '1', items => undef }) ],
        [ 'changelog items []',
          with_changelog($s, { id => '1', items => [] }) ],
    );

    for my $case (@cases) {
        my ($name, $payload) = @$case;
        ignored($name, post_raw($s, json_encode($payload)), $before);
    }

    # not missing, but nothing in it is an assignee change
    my $res2 = post_raw($s, json_encode(with_changelog($s, {
        id => '1', items => [ 1, 'assignee', [], { field => 5 },
                              { fieldtype => 'jira' } ] })));
    subtest 'items that are not field changes are skipped' => sub {
        is $res2->{status}, 200, 'status 200' or diag $res2->{content};
        is $res2->{content}, '', 'empty body';
        unlike $t->log_since, qr/missing-changelog/,
               'not logged as missing-changelog';
        is_deeply $t->snapshot, $before, 'nothing changed';
    };

    is assigned_user($s->{group}), $s->{current},
       'the group kept its assignee';
}

# --- bodies that are refused ------------------------------------------------

{
    my $s = assigned_scenario();
    my $before = $t->snapshot;
    my $valid = json_encode(with_changelog($s, {
        id => '1', items => [ { field => 'assignee' } ] }));

    my @malformed = (
        [ 'truncated JSON', substr($valid, 0, length($valid) - 10) ],
        [ 'single quotes', "{'changelog': {}}" ],
        [ 'trailing garbage', "$valid x" ],
        [ 'two documents', "$valid$valid" ],
        [ 'invalid UTF-8', '{"changelog": {"items": [{"field": "'
                           . "\xff\xfe" . '"}]}}' ],
        [ 'not JSON at all', 'assignee=bob' ],
    );
    for my $case (@malformed) {
        my ($name, $body) = @$case;
        refused("malformed: $name", post_raw($s, $body),
                qr/^JSON parse error/, $before);
    }

    for my $body ('[]', '[{"changelog": {"items": [{"field": "assignee"}]}}]',
                  '"changelog"', '42', '1.5', 'null', 'true') {
        refused("not an object: $body", post_raw($s, $body),
                'Request body must be a JSON object.', $before);
    }

    for my $changelog ('"assignee"', '1', 'true', '["assignee"]') {
        my $body = json_encode(with_changelog($s, 'X'));
        $body =~ s/"changelog":"X"/"changelog":$changelog/ or die;
        refused("changelog $changelog", post_raw($s, $body),
                'changelog must be an object', $before);
    }

    refused('changelog items a string',
            post_raw($s, json_encode(with_changelog($s, {
                id => '1', items => 'assignee' }))),
            'changelog.items must be an array', $before);

    # the second "changelog" would assign if it were read
    my $dup = '{"changelog": {"items": []}, '
            . substr($valid, 1);
    refused('duplicate keys', post_raw($s, $dup),
            qr/^JSON parse error.*duplicate/i, $before);

    my $inner = $valid;
    $inner =~ s/"field":"assignee"/"field":"status","field":"assignee"/
        or die;
    refused('duplicate keys in a changelog item', post_raw($s, $inner),
            qr/^JSON parse error.*duplicate/i, $before);

    is assigned_user($s->{group}), $s->{current},
       'the group kept its assignee';

    # the same body without the fault is taken
    my $res = post_raw($s, $valid);
    is $res->{status}, 200, 'the valid body: status 200';
    is assigned_user($s->{group}), $s->{next}, 'the valid body: assigned';
}

# --- large bodies ------------------------------------------------------------

{
    my $s = assigned_scenario();
    my $body = json_encode(big_payload($s, 1024 * 1024));
    cmp_ok length($body), '>=', 1024 * 1024, 'the issue payload is 1 MiB';

    my $res = post_raw($s, $body);
    is $res->{status}, 200, '1 MiB payload: status 200'
        or diag $res->{content};
    is $res->{content}, '', '1 MiB payload: empty body';
    is assigned_user($s->{group}), $s->{next}, '1 MiB payload: assigned';
    is $t->value('SELECT count(*) FROM activity WHERE group_id = ?'
                 . ' AND type = 11', $s->{group}), 1,
       '1 MiB payload: activity ASSIGNED';
}

{
    my $s = assigned_scenario();
    my $body = json_encode(big_payload($s, 200 * 1024));

    my $res = post_raw($s, $body);
    is $res->{status}, 200, '200 KB payload: status 200'
        or diag $res->{content};
    like $t->log_since,
         qr/a client request body is buffered to a temporary file/,
         '200 KB payload: the body was spooled to a file';
    is assigned_user($s->{group}), $s->{next}, '200 KB payload: assigned';
}

{
    my $s = assigned_scenario();
    my $before = $t->snapshot;
    my $payload = big_payload($s, 1024);
    my $pad = 'x' x (11 * 1024 * 1024);
    $payload->{issue}{fields}{description} = $pad;
    my $body = json_encode($payload);

    my $res = post_raw($s, $body);
    is $res->{status}, 413, 'body over client_max_body_size: 413';
    is_deeply $t->snapshot, $before,
              'body over client_max_body_size: nothing changed';

    # the same without a Content-Length: nginx counts the chunks
    my $chunks = [ unpack '(a65536)*', $body ];
    $t->mark_log;
    $res = $t->http('POST', "/extensions/jira-server/issue-updated/"
                            . "$s->{token}/",
                    headers => { 'Content-Type' => 'application/json' },
                    body => sub { shift @$chunks });
    is $res->{status}, 413, 'chunked body over client_max_body_size: 413';
    is_deeply $t->snapshot, $before,
              'chunked body over client_max_body_size: nothing changed';
}

done_testing;
