#!/usr/bin/perl
# Read the valgrind logs of a test-valgrind run.  Fail on any invalid
# access, jump or fatal signal (whatever the frames: code that was
# unloaded shows only "???"), and on definite leaks whose stack passes
# through the module.

use strict;
use warnings;

my ($dir) = @ARGV;
my ($errors, $leaks) = (0, 0);

for my $file (glob "$dir/vg.*") {
    open my $fh, '<', $file or next;
    my $text = do { local $/; <$fh> };
    for my $block (split /\n==\d+== \n/, $text) {
        if ($block =~ /Invalid\ (?:read|write|free)|Jump\ to\ the\ invalid
                       |Process\ terminating\ with\ default\ action
                       |Mismatched\ free|uninitialised/x)
        {
            print "$file:\n$block\n\n";
            $errors++;
        }
        if ($block =~ /definitely lost/
            && $block =~ /jira_|ngx_http_jira_sync/)
        {
            print "$file:\n$block\n\n";
            $leaks++;
        }
    }
}

print "valgrind: $errors errors, $leaks definite leaks in the module\n";
exit($errors || $leaks ? 1 : 0);
