#!/usr/bin/perl
# Post one large body many times over keep-alive connections from several
# processes (wrk does not send request bodies this large) and print
# "RESULT rps=... non2xx=...".
#
#   bigpost.pl HOST PORT PATH FILE PROCESSES SECONDS

use strict;
use warnings;

use IO::Socket::INET;
use Time::HiRes qw(time);

my ($host, $port, $path, $file, $procs, $seconds) = @ARGV;

open my $fh, '<:raw', $file or die "$file: $!";
my $body = do { local $/; <$fh> };
close $fh;

my $req = "POST $path HTTP/1.1\r\nHost: $host\r\n"
        . "Content-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n" . $body;

pipe my $r, my $w or die;
my $start = time;

for (1 .. $procs) {
    my $pid = fork // die;
    next if $pid;
    close $r;
    my ($ok, $bad) = (0, 0);
    my $s;
    while (time - $start < $seconds) {
        $s //= IO::Socket::INET->new(PeerAddr => "$host:$port") or die $!;
        print $s $req;
        my $head = '';
        while ($head !~ /\r\n\r\n/) {
            my $n = sysread $s, $head, 4096, length $head;
            die "connection closed" unless $n;
        }
        my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
        my ($len) = $head =~ /Content-Length: (\d+)/i;
        my $have = length($head) - index($head, "\r\n\r\n") - 4;
        while ($have < ($len // 0)) {
            my $n = sysread $s, my $buf, 65536;
            die "connection closed" unless $n;
            $have += $n;
        }
        $status == 200 ? $ok++ : $bad++;
        undef $s if $head =~ /Connection: close/i;
    }
    print $w "$ok $bad\n";
    exit 0;
}

close $w;
my ($ok, $bad) = (0, 0);
while (<$r>) {
    my ($o, $b) = split;
    $ok += $o;
    $bad += $b;
}
1 while wait != -1;

printf "RESULT rps=%.1f non2xx=%d\n", ($ok + $bad) / (time - $start), $bad;
