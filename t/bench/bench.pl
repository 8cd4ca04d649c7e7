#!/usr/bin/perl
# make bench: the module against the physical limits on this machine, in
# one run, reported as ratios (docs/benchmarks.md explains each line).
#
#   - assignment webhooks end to end vs pgbench running the same SQL
#     transaction at the same concurrency on the same PostgreSQL;
#   - token rejections (bad signature) vs nginx's own "return 204";
#   - latency at about half of the peak rate;
#   - worker RSS before and after many webhooks;
#   - a 1 MiB Jira payload: throughput and parse time.
#
# BENCH_SECONDS (default 10) sets each run's length, BENCH_RUNS (default
# 3) how many times each comparison runs (the median is reported: the
# machine may be shared), BENCH_WEBHOOKS the number of webhooks for the
# memory check (default 200000).

use strict;
use warnings;

use FindBin qw($Bin);
use lib "$Bin/../lib";
use JiraSyncTest qw(jwt);
use Time::HiRes qw(time sleep);

my $root = "$Bin/../..";
my $seconds = $ENV{BENCH_SECONDS} // 10;
my $runs = $ENV{BENCH_RUNS} // 3;
my $keys = 1000;
my $webhooks = $ENV{BENCH_WEBHOOKS} // 200000;
my $build = "$root/build/bench";
system('mkdir', '-p', $build) == 0 or die;

# the same PostgreSQL settings for the module and for pgbench
my $threads = $ENV{BENCH_THREADS} // 4;
my $t = JiraSyncTest->new(nginx => { workers => 2, threads => $threads,
                                     max_queue => 65536,
                                     log_level => 'warn' },
                          pg_opts => '-c max_connections=400'
                                   . ' -c shared_buffers=256MB');
my $dbh = $t->dbh;

# --- data: one organization, 1000 Jira issues each linked to a group ---

my $secret = 'b' x 64;
my $org = $t->insert('organization', slug => 'bench', name => 'Bench',
                     integrations_issue_sync => 1);
my $team = $t->insert('team', organization_id => $org, slug => 'bench',
                      name => 'Bench');
my $project = $t->insert('project', organization_id => $org,
                         slug => 'bench', name => 'Bench');
$t->insert('project_team', project_id => $project, team_id => $team);
for my $u (1, 2) {
    my $user = $t->insert('app_user', username => "bench$u",
                          email => "bench$u\@example.com");
    $t->insert('user_email', user_id => $user,
               email => "bench$u\@example.com", is_verified => 1);
    my $m = $t->insert('organization_member', organization_id => $org,
                       user_id => $user);
    $t->insert('organization_member_team', organizationmember_id => $m,
               team_id => $team);
}
my $integration = $t->integration(external_id => 'bench.example.com:bench',
                                  secret => $secret);
$t->insert('organization_integration', organization_id => $org,
           integration_id => $integration,
           config => '{"sync_reverse_assignment": true}');
$dbh->do(q{
    WITH ei AS (
        INSERT INTO external_issue (organization_id, integration_id, key)
        SELECT ?, ?, 'B-' || k FROM generate_series(1, ?) k
        RETURNING id),
    g AS (
        INSERT INTO issue_group (project_id, title)
        SELECT ?, 'bench' FROM generate_series(1, ?)
        RETURNING id),
    pairs AS (
        SELECT ei.id AS ei, g.id AS g
          FROM (SELECT id, row_number() OVER (ORDER BY id) n FROM ei) ei
          JOIN (SELECT id, row_number() OVER (ORDER BY id) n FROM g) g
            USING (n))
    INSERT INTO group_link (group_id, project_id, linked_type, linked_id)
    SELECT g, ?, 3, ei FROM pairs}, undef,
    $org, $integration, $keys, $project, $keys, $project);
$dbh->do('VACUUM ANALYZE');

my $token = jwt({ id => 'bench.example.com:bench' }, $secret);
my $bad = jwt({ id => 'bench.example.com:bench' }, 'wrong-secret');

# --- the pgbench script: the module's own statements ---

my @src = glob("$root/src/*.c");
system("cc -std=c99 -D_GNU_SOURCE -O2 -I$root/src"
       . " -I\$(pg_config --includedir) -o $build/pgbench_script"
       . " $Bin/pgbench_script.c @src -lpq -lcurl -ljansson -lcrypto"
       . " -lunistring -lpthread") == 0 or die "pgbench_script build";
system("$build/pgbench_script > $build/webhook.sql") == 0 or die;

my $pgbench = JiraSyncTest::pg_bin('pgbench');
my $pgenv = "PGHOST=127.0.0.1 PGPORT=$t->{pgport} PGUSER=postgres"
          . " PGDATABASE=jira_sync PGOPTIONS='-c search_path=jira_sync'";

sub pgbench_tps {
    my ($c) = @_;
    my $out = `$pgenv $pgbench -n -M prepared -c $c -j 2 -T $seconds -D keys=$keys -D ext=bench.example.com:bench -f $build/webhook.sql 2>&1`;
    my ($tps) = $out =~ /tps = ([\d.]+) \(without initial connection/;
    ($tps) = $out =~ /tps = ([\d.]+)/ unless defined $tps;
    die "pgbench failed:\n$out" unless defined $tps;
    return $tps;
}

sub wrk {
    my ($c, $script, %env) = @_;
    my $e = join ' ', map { "$_='$env{$_}'" } sort keys %env;
    my $threads = $c < 2 ? 1 : 2;
    my $out = `$e wrk -t$threads -c$c -d${seconds}s --timeout 10s -s $Bin/$script $t->{url_base} 2>&1`;
    my %r = $out =~ /(\w+)=([\d.]+)/g;
    die "wrk failed:\n$out" unless defined $r{rps};
    return \%r;
}

$t->{url_base} = "http://127.0.0.1:$t->{port}";

sub worker_rss {
    my $sum = 0;
    for my $pid (split ' ', `pgrep -P @{[$t->nginx_pid]}`) {
        open my $fh, '<', "/proc/$pid/status" or next;
        while (<$fh>) {
            $sum += $1 if /^VmRSS:\s+(\d+) kB/;
        }
    }
    return $sum;
}

my @report;
sub say_ { my $l = sprintf(shift, @_); print "$l\n"; push @report, $l; }

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# the module's side and the reference, one after the other, $runs times:
# the medians of both rates and of the ratios, and every ratio
sub compare {
    my ($module, $reference) = @_;
    my (@m, @r, @q);
    for (1 .. $runs) {
        push @m, $module->();
        push @r, $reference->();
        push @q, $m[-1] / $r[-1];
    }
    return (median(@m), median(@r), median(@q),
            join(' ', map { sprintf '%.2f', $_ } @q));
}

my $cpu = `grep -m1 'model name' /proc/cpuinfo`;
$cpu =~ s/.*:\s*//;
chomp $cpu;
say_("machine: %s, %d cores, %s", $cpu, `nproc` + 0,
     `uname -sr` =~ s/\n//r);
say_("nginx %s, 2 workers, thread pool of %d; PostgreSQL %s (fsync off)",
     `/usr/sbin/nginx -v 2>&1` =~ s/.*\///r =~ s/\n//r, $threads,
     $dbh->selectrow_array('SHOW server_version'));
say_("runs of %d s each, medians of %d; %d linked issues, random keys,"
     . " 2 users", $seconds, $runs, $keys);

# warm up connections and caches
wrk(64, 'webhook.lua', JIRA_TOKEN => $token, BENCH_KEYS => $keys);

# The tables the webhooks write to were empty when the data was analyzed,
# and a connection keeps the plans it made then (sequential scans) until
# the next ANALYZE, which autovacuum would run only a minute or more
# later; pgbench, connecting afresh, plans against the tables' real sizes.
# Analyze now so that both sides run the plans of a database in use.
$dbh->do('ANALYZE');

say_("");
say_("assignment webhooks vs pgbench (same SQL, same concurrency):");
my $peak = 0;
for my $c (16, 64, 256) {
    my $non2xx = 0;
    my ($w, $p, $q, $all) = compare(
        sub {
            my $w = wrk($c, 'webhook.lua', JIRA_TOKEN => $token,
                        BENCH_KEYS => $keys);
            $non2xx += $w->{non2xx};
            return $w->{rps};
        },
        sub { pgbench_tps($c) });
    $peak = $w if $w > $peak;
    say_("  c=%-4d module %8.0f req/s (non-2xx %d)  pgbench %8.0f tps"
         . "  ratio %.2f  (target >= 0.8; runs %s)", $c, $w, $non2xx, $p,
         $q, $all);
}

say_("");
say_("token rejections (bad signature) vs nginx return 204:");
for my $c (64, 256) {
    my ($rej, $ret, $q, $all) = compare(
        sub {
            wrk($c, 'plain.lua', BENCH_METHOD => 'POST',
                BENCH_PATH => "/extensions/jira-server/issue-updated/$bad/")
                ->{rps};
        },
        sub {
            wrk($c, 'plain.lua', BENCH_METHOD => 'GET',
                BENCH_PATH => '/ping')->{rps};
        });
    say_("  c=%-4d rejections %8.0f req/s  return 204 %8.0f req/s"
         . "  ratio %.2f  (target >= 0.5; runs %s)", $c, $rej, $ret, $q,
         $all);
}

say_("");
# about half the peak: 64 connections each pausing so that together they
# offer peak/2 requests per second
my $delay = int(64 * 1000 / ($peak / 2));
my $lat = wrk(64, 'webhook.lua', JIRA_TOKEN => $token, BENCH_KEYS => $keys,
              BENCH_DELAY_MS => $delay);
say_("latency at ~half peak (%.0f of %.0f req/s offered): p50 %.2f ms,"
     . " p99 %.2f ms", $lat->{rps}, $peak, $lat->{p50_ms}, $lat->{p99_ms});

# --- memory: worker RSS before and after many webhooks ---

my $before = worker_rss();
{
    my $start = time;
    my $sent = 0;
    while ($sent < $webhooks) {
        my $w = wrk(64, 'webhook.lua', JIRA_TOKEN => $token,
                    BENCH_KEYS => $keys);
        $sent += $w->{rps} * $seconds;
    }
}
my $after = worker_rss();
say_("");
say_("worker RSS (2 workers together): %d KiB before, %d KiB after ~%d"
     . " webhooks: growth %d KiB (target < 1024)", $before, $after,
     $webhooks, $after - $before);

# --- a 1 MiB Jira payload ---

my $big = $t->assign_payload('B-1', JiraSyncTest::jira_user(
                                 'bench1@example.com'));
$big->{issue}{fields}{"customfield_$_"} = "value $_ " . ('x' x 200)
    for 1 .. 2000;
$big->{issue}{fields}{comment}{comments} =
    [map { { id => "$_", body => 'comment ' . ('y' x 300),
             author => { name => 'bob' } } } 1 .. 1500];
my $json = JiraSyncTest::json_encode($big);
open my $fh, '>', "$build/big.json" or die;
print $fh $json;
close $fh;
my $mbout = `perl $Bin/bigpost.pl 127.0.0.1 $t->{port} /extensions/jira-server/issue-updated/$token/ $build/big.json 8 $seconds`;
my $mb = { $mbout =~ /(\w+)=([\d.]+)/g };
system("cc -std=c99 -D_GNU_SOURCE -O2 -I$root/src -o $build/parse_time"
       . " $Bin/parse_time.c $root/src/jira_payload.c -ljansson") == 0
    or die "parse_time build";
my $parse = `$build/parse_time $build/big.json`;
chomp $parse;
say_("");
say_("1 MiB payload (%d bytes): %.0f req/s end to end from 8 clients,"
     . " non-2xx %d;"
     . " %s", length $json, $mb->{rps}, $mb->{non2xx}, $parse);

open my $out, '>', "$build/results.txt" or die;
print $out map { "$_\n" } @report;
close $out;
print "\nresults in build/bench/results.txt\n";
