# kip — build, test, demo, install.
#
#   make            build kipd and kipctl into $(BUILD)/
#   make test       install missing packages, run unit and integration tests,
#                   then the same suite under ASan and UBSan
#   make demo       a whole scenario against a temporary kipd
#   make install    PREFIX=/usr/local DESTDIR=
#   make man        the man pages kipd(8), kipctl(1), kipd.conf(5) into
#                   $(BUILD)/man/ (make builds them too)
#   make SAN=1      build with AddressSanitizer and UBSan (into build-san/)

PREFIX  ?= /usr/local
LIBEXECDIR ?= $(PREFIX)/libexec/kip
DESTDIR ?=
SAN     ?=
ifeq ($(SAN),1)
BUILD   ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
else
BUILD   ?= build
SANFLAGS =
endif

CC      ?= cc
PKGS     = libconfig sqlite3 jansson yaml-0.1 libcrypto libcurl libmosquitto gmime-3.0 libical \
           pangocairo pangoft2 cairo-pdf fontconfig libqpdf
OPTFLAGS ?= -O2 -g
WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
           -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
KIP_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(OPTFLAGS) $(WARN) $(SANFLAGS) -D_FORTIFY_SOURCE=2 \
           -fstack-protector-strong -Icommon -Idaemon -Iinmail \
           -DKIP_LIBEXECDIR='"$(LIBEXECDIR)"' \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# --as-needed: each program records only the libraries it calls, so kipd
# (which leaves inbound mail to kip-inmail) maps neither GMime nor libical.
KIP_LDFLAGS = $(SANFLAGS) -Wl,-z,relro,-z,now -Wl,--as-needed
# libldap (directory.c) is linked by name: Debian 12's libldap-dev may
# ship no pkg-config file.
LIBS     = $(or $(shell pkg-config --libs $(PKGS) 2>/dev/null),\
             -lconfig -lsqlite3 -ljansson -lyaml -lcrypto -lcurl -lmosquitto -lgmime-3.0 -lgobject-2.0 -lglib-2.0 -lical \
             -lpangocairo-1.0 -lpangoft2-1.0 -lpango-1.0 -lcairo -lfontconfig -lqpdf) -lldap -llber -lpthread

COMMON_SRC = $(wildcard common/*.c)
DAEMON_SRC = $(filter-out daemon/kipd.c,$(wildcard daemon/*.c))
# kip-inmail, the confined reader of hostile mail: kipd links none of it.
INMAIL_SRC = $(filter-out inmail/main.c,$(wildcard inmail/*.c))
CLIENT_SRC = $(wildcard client/*.c)
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
BENCH_SRC  = $(wildcard bench/*.c)
TOOL_SRC   = $(wildcard tests/tools/*.c)
PRELOAD_SRC = $(wildcard tests/preload/*.c)

COMMON_OBJ = $(COMMON_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ = $(DAEMON_SRC:%.c=$(BUILD)/%.o)
INMAIL_OBJ = $(INMAIL_SRC:%.c=$(BUILD)/%.o)
CLIENT_OBJ = $(CLIENT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN  = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
TOOL_BIN   = $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
PRELOAD_SO = $(PRELOAD_SRC:tests/preload/%.c=$(BUILD)/preload/%.so)

.PHONY: all clean install test unit demo deps format format-files lint bench

MAN_PAGES  = $(BUILD)/man/kipd.8 $(BUILD)/man/kipctl.1 $(BUILD)/man/kipd.conf.5

all: $(BUILD)/kipd $(BUILD)/kipctl $(BUILD)/kip-inmail $(MAN_PAGES)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KIP_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The programs take from the archive only the objects they use: kipd has
# no mail parser (inmail/ is linked into kip-inmail alone), kip-inmail no
# store or network.
$(BUILD)/libkip.a: $(DAEMON_OBJ) $(COMMON_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/kipd: $(BUILD)/daemon/kipd.o $(BUILD)/libkip.a
	$(CC) $(KIP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/kip-inmail: $(BUILD)/inmail/main.o $(INMAIL_OBJ) $(BUILD)/libkip.a
	$(CC) $(KIP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/kipctl: $(CLIENT_OBJ) $(COMMON_OBJ)
	$(CC) $(KIP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(INMAIL_OBJ) $(DAEMON_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(KIP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(KIP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# Test drivers (tests/tools/, linked with the daemon's objects) and
# LD_PRELOAD shims for fault injection (tests/preload/).
$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(INMAIL_OBJ) $(DAEMON_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(KIP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/preload/%.so: tests/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 $(WARN) -fPIC -shared -o $@ $< -ldl

unit: $(UNIT_BIN) $(TOOL_BIN) $(PRELOAD_SO)

# The man pages are printed by the programs from the tables behind --help
# and the configuration (kipd's options, kipctl's commands, the option
# table of daemon/config.c); kipd.conf(5) takes each key's description
# from its comment in conf/kipd.conf, and kipd refuses to print it, failing
# the build, when the example and the table disagree.
.PHONY: man install-man
man: $(MAN_PAGES)

$(BUILD)/man/kipd.8: $(BUILD)/kipd
	@mkdir -p $(dir $@)
	$(BUILD)/kipd --man 8 >$@.tmp && mv $@.tmp $@

$(BUILD)/man/kipd.conf.5: $(BUILD)/kipd conf/kipd.conf
	@mkdir -p $(dir $@)
	$(BUILD)/kipd --man 5 -c conf/kipd.conf >$@.tmp && mv $@.tmp $@

$(BUILD)/man/kipctl.1: $(BUILD)/kipctl
	@mkdir -p $(dir $@)
	$(BUILD)/kipctl --man >$@.tmp && mv $@.tmp $@

bench: all $(BENCH_BIN)
	bench/run.sh $(BUILD)

deps:
	@tests/deps.sh

# Both install what is missing first, then build in a fresh make, so that
# the library flags are read after the packages exist.
test: deps
	tests/run.sh

demo: deps
	$(MAKE) all
	tests/demo.sh $(BUILD)

FORMAT_SRC = $(sort $(COMMON_SRC) $(wildcard common/*.h daemon/*.[ch] \
	     inmail/*.[ch] client/*.[ch] tests/unit/*.[ch] bench/*.c))

format:
	clang-format -i $(FORMAT_SRC)

format-files:
	@printf '%s\n' $(FORMAT_SRC)

# Formatting and the banned functions (CODE_STYLE.md); make test runs it.
lint:
	@tests/lint.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/kipd $(DESTDIR)$(PREFIX)/sbin/kipd
	install -m 0755 $(BUILD)/kipctl $(DESTDIR)$(PREFIX)/bin/kipctl
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(BUILD)/kip-inmail $(DESTDIR)$(LIBEXECDIR)/kip-inmail
	install -d $(DESTDIR)$(PREFIX)/share/doc/kip $(DESTDIR)$(PREFIX)/share/kip
	install -m 0644 conf/kipd.conf $(DESTDIR)$(PREFIX)/share/doc/kip/kipd.conf.example
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/kip/
	$(MAKE) --no-print-directory install-man

# The pages already built into $(BUILD)/man (make install builds them).
install-man:
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 $(BUILD)/man/kipctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(BUILD)/man/kipd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(BUILD)/man/kipd.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build build-san build-tsan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------------------
# Hardening: fuzzing and static analysis (docs/HARDENING.md, fuzz/README.md)
#
#   make fuzz          runs every libFuzzer target for FUZZ_SECONDS on its
#                      corpus fuzz/corpus/<name>/ (new inputs land there)
#   make fuzz-replay   runs every target once over its committed corpus;
#                      fails on any crash
#   make analyze       GCC -fanalyzer over daemon/, common/ and client/;
#                      fails on any finding not justified in HARDENING.md
#
# The fuzz targets and the daemon's objects are built with clang,
# -fsanitize=fuzzer-no-link,address,undefined, into FUZZ_BUILD.
# ---------------------------------------------------------------------------

FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst fuzz/fuzz_%.c,%,$(filter-out fuzz/fuzz_common.c,\
                $(wildcard fuzz/fuzz_*.c)))
FUZZ_SAN     = -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer
# clang's -Wformat=2 also flags vsnprintf() in functions taking a va_list
# that carry no format attribute (buf_vprintf); GCC does not.
FUZZ_WARN    ?= -Wno-format-nonliteral
FUZZ_BIN     = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
ANALYZE_BUILD ?= $(FUZZ_BUILD)/analyze
ANALYZE_SRC  = $(COMMON_SRC) $(DAEMON_SRC) daemon/kipd.c $(INMAIL_SRC) \
               inmail/main.c $(CLIENT_SRC)
# The project's flags without -Werror: findings are counted, not fatal.
ANALYZE_CFLAGS = $(filter-out -Werror,$(KIP_CFLAGS)) $(CFLAGS)

.PHONY: fuzz fuzz-replay fuzz-build fuzz-bins analyze

# The sub-make builds everything in FUZZ_BUILD with clang; the fuzzer
# runtime itself is linked only into the targets.
fuzz-build:
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
		OPTFLAGS="-O1 -g" SANFLAGS="$(FUZZ_SAN)" CFLAGS="$(FUZZ_WARN)" \
		fuzz-bins

fuzz-bins: $(FUZZ_BIN)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(BUILD)/fuzz/fuzz_common.o \
		      $(INMAIL_OBJ) $(DAEMON_OBJ) $(COMMON_OBJ)
	$(CC) $(KIP_LDFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(LIBS)

fuzz: fuzz-build
	fuzz/run.sh run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-replay: fuzz-build
	fuzz/run.sh replay $(FUZZ_BUILD) 0 $(FUZZ_TARGETS)

analyze:
	ANALYZE_CFLAGS="$(ANALYZE_CFLAGS)" fuzz/analyze.sh $(ANALYZE_BUILD) \
		$(ANALYZE_SRC)
