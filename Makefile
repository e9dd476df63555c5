# ferry - build, test, install.
#
#   make            build bin/ferry (optimised, warnings are errors)
#   make deps       install missing Debian packages (apt-get); no-op when present
#   make check      ASan+UBSan build, Check unit tests, data-driven and
#                   integration tests against real peers
#   make demo       end-to-end run of examples/ on embedded defaults
#   make bench      benchmarks in bench/, each printing "name value unit"
#   make fuzz       libFuzzer targets in tests/fuzz/ (clang), bounded runs
#   make install    PREFIX=/usr/local DESTDIR= (binary, man pages, docs,
#                   schemas, examples, systemd unit, sysusers.d, tmpfiles.d,
#                   /etc/ferry/ferry.xml unless one is there)
#   make deb        build/deb/ferry_VERSION_ARCH.deb with dpkg-buildpackage,
#                   checked by lintian
#
# Every .c file in a subsystem folder is part of libferry (and every .cc:
# the one is mappings/jtree_simd.cc, simdjson's parse, built with $(CXX)
# and linked with libstdc++); cli/ makes the binary; each
# tests/unit/check_*.c is its own Check binary.  Adding a file needs no
# edit here.

CC       ?= cc
CXX      ?= g++
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build/release
SAN      ?= 0
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DOCDIR      ?= $(PREFIX)/share/doc/ferry
# the one version: the binary, the man pages and debian/changelog agree
# (tests/integration/71_deb.sh checks)
VERSION  := $(shell sed -n 's/^\#define FERRY_VERSION "\(.*\)"/\1/p' cli/cli.h)

PKGS     := jansson libxml-2.0 libcurl libmicrohttpd libssh2 odbc sqlite3 openssl \
            libsystemd gpgme libpq
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

ifeq ($(SAN),1)
  BUILD  := build/san
  OPT    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
            -fno-sanitize-recover=undefined -DFERRY_TEST_BUILD
  LDSAN  := -fsanitize=address,undefined
else
  OPT    := -O2 -g
  LDSAN  :=
endif

CFLAGS   ?=
CFLAGS   += $(CSTD) $(WARN) $(OPT) -I. $(PKG_CFLAGS) -pthread
LDFLAGS  += $(LDSAN) -pthread
# the one C++ file (mappings/jtree_simd.cc, simdjson) brings its runtime
CXXFLAGS ?=
CXXFLAGS += -std=c++17 -Wall -Wextra -Werror $(OPT) -I. -pthread
LDLIBS   := $(PKG_LIBS) -lsimdjson -lstdc++ -lm

LIBDIRS  := util mappings spool scheduler config adapters intake console
LIBSRC   := $(sort $(wildcard $(addsuffix /*.c,$(LIBDIRS))))
LIBSRCXX := $(sort $(wildcard $(addsuffix /*.cc,$(LIBDIRS))))
LIBOBJ   := $(LIBSRC:%.c=$(BUILD)/%.o) $(LIBSRCXX:%.cc=$(BUILD)/%.o) \
            $(BUILD)/gen/schemas.o
XSDS     := $(sort $(wildcard config/*.xsd))
CLISRC   := $(sort $(wildcard cli/*.c))
CLIOBJ   := $(CLISRC:%.c=$(BUILD)/%.o)
UNITSRC  := $(sort $(wildcard tests/unit/check_*.c))
UNITBIN  := $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)
HELPSRC  := $(sort $(wildcard tests/helpers/*.c))
HELPBIN  := $(HELPSRC:tests/helpers/%.c=$(BUILD)/tests/helpers/%)
BENCHSRC := $(sort $(wildcard bench/*.c))
BENCHBIN := $(BENCHSRC:bench/%.c=$(BUILD)/bench/%)

DEB_PKGS := build-essential pkg-config libjansson-dev libxml2-dev libxml2-utils \
            libcurl4-openssl-dev libmicrohttpd-dev libssh2-1-dev unixodbc \
            unixodbc-dev libsqlite3-dev sqlite3 libpq-dev libssl-dev check libsubunit-dev \
            odbc-postgresql libsqliteodbc postgresql openssh-server \
            openssh-client gnucobol3 python3 curl wrk clang \
            libclang-rt-14-dev jq gsoap openssl chromium libsystemd-dev \
            libsimdjson-dev g++ \
            debhelper lintian fakeroot libgpgme-dev gnupg

.PHONY: all deps check unit integration data demo bench fuzz install clean \
        san-build deb

all: bin/ferry

bin/ferry: $(BUILD)/ferry
	@mkdir -p bin
	cp $< $@

$(BUILD)/ferry: $(CLIOBJ) $(BUILD)/libferry.a
	$(CC) $(LDFLAGS) -o $@ $(CLIOBJ) $(BUILD)/libferry.a $(LDLIBS)

$(BUILD)/libferry.a: $(LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/gen/schemas.c: $(XSDS) tools/embed.sh
	@mkdir -p $(dir $@)
	tools/embed.sh $@ $(XSDS)

$(BUILD)/gen/schemas.o: $(BUILD)/gen/schemas.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libferry.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libferry.a $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tests/helpers/%: tests/helpers/%.c $(BUILD)/libferry.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libferry.a $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libferry.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libferry.a $(LDLIBS)

-include $(LIBOBJ:.o=.d) $(CLIOBJ:.o=.d)

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends $$missing; \
	else echo "deps: all present"; fi
	@# node and npm (the SOAP test peer) may come from outside Debian's
	@# archive on this image; install Debian's only when there are none.
	@command -v npm >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm; }

# The sanitizer build is a separate tree so release objects never mix in.
san-build:
	$(MAKE) SAN=1 build/san/ferry $(subst build/release,build/san,$(UNITBIN) $(HELPBIN))

check: deps
	$(MAKE) san-build
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tests/run.sh build/san

demo: deps all
	examples/demo.sh

bench: deps
	$(MAKE) all $(BENCHBIN) $(HELPBIN)
	bench/run.sh $(BUILD)

fuzz: deps
	tests/fuzz/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/ferry/schemas \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
	  $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SYSCONFDIR)/ferry/secrets
	install -m 0755 bin/ferry $(DESTDIR)$(PREFIX)/bin/ferry
	install -m 0644 config/*.xsd $(DESTDIR)$(PREFIX)/share/ferry/schemas/
	install -m 0644 docs/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 docs/man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	cd examples && for f in $$(find . -type f ! -name '*.key' ! -name '*.conn' \
	    ! -name '*.db' | sort); do \
	  install -D -m 0644 $$f $(DESTDIR)$(DOCDIR)/examples/$$f || exit 1; done
	sed 's|@PREFIX@|$(PREFIX)|g' dist/ferry.service > $(DESTDIR)$(UNITDIR)/ferry.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ferry.service
	install -m 0644 dist/ferry.sysusers $(DESTDIR)$(SYSUSERSDIR)/ferry.conf
	install -m 0644 dist/ferry.tmpfiles $(DESTDIR)$(TMPFILESDIR)/ferry.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/ferry/ferry.xml ] || \
	  install -m 0644 dist/ferry.xml $(DESTDIR)$(SYSCONFDIR)/ferry/ferry.xml

# The package is built from a copy of the tracked files (as they are in the
# work tree) in DEBDIR, so dpkg-buildpackage writes nothing outside it.
DEBDIR   ?= build/deb
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
	  { echo "deb: needs dpkg-dev and debhelper (make deps)"; exit 1; }
	rm -rf $(DEBDIR) && mkdir -p $(DEBDIR)/ferry-$(VERSION)
	git ls-files -z | tar --null -T - -cf - | tar -C $(DEBDIR)/ferry-$(VERSION) -xf -
	cd $(DEBDIR)/ferry-$(VERSION) && dpkg-buildpackage -us -uc -b -j2
	@if command -v lintian >/dev/null; then \
	  lintian --fail-on error $(DEBDIR)/ferry_$(VERSION)_*.changes; \
	else echo "deb: lintian not installed, not checked"; fi
	@ls $(DEBDIR)/*.deb
