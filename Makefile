# ngx_http_jira_sync_module
#
#   make            build build/ngx_http_jira_sync_module.so
#   make run        PostgreSQL + nginx with the module and demo data
#   make test       the whole suite (unit tests and prove -r t)
#   make migrate    apply src/sql/ to the database named by PG* / DATABASE_URL

SHELL      := /bin/bash
NGINX_SRC  ?= /usr/share/nginx/src
BUILD      ?= build
MODULE      = $(BUILD)/ngx_http_jira_sync_module.so
CC         ?= cc

SRC_C      := $(sort $(wildcard src/*.c))
SRC_H      := $(sort $(wildcard src/*.h))
NGX_C      := $(sort $(wildcard ngx_module/*.c))
NGX_H      := $(sort $(wildcard ngx_module/*.h))
UNIT_C     := $(sort $(wildcard t/unit/test_*.c))
UNIT_BIN   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_C))

UNIT_CFLAGS = -std=c99 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
              -Wno-unused-parameter -Isrc -It/unit \
              -I$(shell pg_config --includedir 2>/dev/null)
UNIT_LIBS   = -lpq -lcurl -ljansson -lcrypto -lunistring -lpthread

FUZZ_C      := $(sort $(wildcard t/fuzz/fuzz_*.c))
FUZZ_BIN    := $(patsubst t/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_C))
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined -D_GNU_SOURCE -Isrc \
              -I$(shell pg_config --includedir 2>/dev/null)

ASAN_BUILD  = build/asan
SAN_FLAGS   = -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
VG_BUILD    = build/valgrind

.PHONY: all deps run test unit prove migrate clean fuzz bench test-asan \
        test-valgrind

all: $(MODULE)

deps:
	@sh tools/deps.sh

# configure again whenever the list of sources or the addon script changes
$(BUILD)/sources: FORCE
	@mkdir -p $(BUILD)
	@echo config $(SRC_C) $(SRC_H) $(NGX_C) $(NGX_H) > $@.new
	@cmp -s $@.new $@ || mv $@.new $@; rm -f $@.new

$(BUILD)/nginx/Makefile: config $(BUILD)/sources
	@mkdir -p $(BUILD)/nginx
	cd $(NGINX_SRC) && . ./conf_flags && ./configure \
	    --with-cc-opt="$$(dpkg-buildflags --get CFLAGS) -fPIC \
	                   $$(dpkg-buildflags --get CPPFLAGS) $(EXTRA_CFLAGS)" \
	    --with-ld-opt="$$(dpkg-buildflags --get LDFLAGS) -fPIC \
	                   $(EXTRA_LDFLAGS)" \
	    "$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(CURDIR) \
	    --builddir=$(CURDIR)/$(BUILD)/nginx > $(CURDIR)/$(BUILD)/configure.log

$(MODULE): $(BUILD)/nginx/Makefile $(SRC_C) $(SRC_H) $(NGX_C) $(NGX_H)
	$(MAKE) -s -f $(CURDIR)/$(BUILD)/nginx/Makefile -C $(NGINX_SRC) modules
	cp $(BUILD)/nginx/ngx_http_jira_sync_module.so $@

$(BUILD)/unit/%: t/unit/%.c $(SRC_C) $(SRC_H) t/unit/tap.h
	@mkdir -p $(BUILD)/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(SRC_C) $(UNIT_LIBS)

unit: $(UNIT_BIN)

prove: $(MODULE) unit
	JIRA_SYNC_MODULE=$(CURDIR)/$(MODULE) JIRA_SYNC_UNIT=$(CURDIR)/$(BUILD)/unit \
	    prove -r -j2 t $(UNIT_BIN)

test: deps
	$(MAKE) prove

run: deps
	$(MAKE) $(MODULE)
	bash tools/run.sh

# the whole suite on nginx with an ASan/UBSan build of the module; any
# sanitizer report fails the run
test-asan: deps
	$(MAKE) BUILD=$(ASAN_BUILD) EXTRA_CFLAGS="$(SAN_FLAGS)" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" \
	    $(ASAN_BUILD)/ngx_http_jira_sync_module.so unit
	rm -rf $(ASAN_BUILD)/logs && mkdir -p $(ASAN_BUILD)/logs
	JIRA_SYNC_MODULE=$(CURDIR)/$(ASAN_BUILD)/ngx_http_jira_sync_module.so \
	JIRA_SYNC_NGINX_WRAPPER="env LD_PRELOAD=$$(gcc -print-file-name=libasan.so):$$(gcc -print-file-name=libubsan.so) ASAN_OPTIONS=detect_leaks=0:log_path=$(CURDIR)/$(ASAN_BUILD)/logs/asan UBSAN_OPTIONS=print_stacktrace=1:log_path=$(CURDIR)/$(ASAN_BUILD)/logs/ubsan" \
	    prove -r -j2 t
	@if ls $(ASAN_BUILD)/logs/* >/dev/null 2>&1; then \
	    cat $(ASAN_BUILD)/logs/*; echo "sanitizer reports above"; exit 1; \
	fi

# the whole suite with nginx under valgrind; any invalid access, or a
# definite leak with a frame in the module, fails the run
test-valgrind: deps $(MODULE)
	rm -rf $(VG_BUILD) && mkdir -p $(VG_BUILD)
	JIRA_SYNC_MODULE=$(CURDIR)/$(MODULE) \
	JIRA_SYNC_NGINX_WRAPPER="valgrind --quiet --trace-children=no --child-silent-after-fork=no --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=30 --log-file=$(CURDIR)/$(VG_BUILD)/vg.%p" \
	    prove -r t
	@perl t/valgrind-check.pl $(VG_BUILD)

# each libFuzzer target for FUZZ_SECONDS, on a scratch copy of its corpus
$(BUILD)/fuzz/%: t/fuzz/%.c $(SRC_C) $(SRC_H)
	@mkdir -p $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $< $(SRC_C) $(UNIT_LIBS)

fuzz: deps $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
	    name=$${f##*/fuzz_}; \
	    rm -rf $(BUILD)/fuzz/corpus-$$name; \
	    mkdir -p $(BUILD)/fuzz/corpus-$$name $(BUILD)/fuzz/crash-$$name; \
	    echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz/crash-$$name/ \
	        $(BUILD)/fuzz/corpus-$$name t/fuzz/corpus/$$name \
	        2>$(BUILD)/fuzz/$$name.log \
	    || { tail -40 $(BUILD)/fuzz/$$name.log; exit 1; }; \
	    grep -E "stat::number_of_executed_units" $(BUILD)/fuzz/$$name.log; \
	done

bench: deps $(MODULE)
	JIRA_SYNC_MODULE=$(CURDIR)/$(MODULE) perl t/bench/bench.pl

migrate:
	sh tools/migrate.sh

clean:
	rm -rf $(BUILD)

FORCE:
