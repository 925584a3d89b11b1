EXTENSION = pg_scribe
# The version lives in the control file only.
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = pg_scribe
OBJS = \
	src/pg_scribe.o \
	src/base/shmem.o \
	src/base/install.o \
	src/ops/health.o \
	src/launcher/launcher.o \
	src/base/wakeup.o \
	src/replication/heartbeat.o \
	src/replication/replica.o \
	src/replication/replica_watch.o \
	src/replication/read_your_writes.o \
	src/base/spi_plans.o \
	src/base/xact.o \
	src/base/tasks.o \
	src/base/privilege.o \
	src/base/removed.o \
	src/base/call_internal.o \
	src/queue/queue_admin_sql.o \
	src/queue/queue_cache.o \
	src/queue/queue_claim.o \
	src/queue/queue_consume.o \
	src/queue/queue_consume_sql.o \
	src/queue/queue_histogram.o \
	src/queue/queue_hooks.o \
	src/queue/queue_maintenance.o \
	src/queue/queue_send.o \
	src/queue/queue_stats.o \
	src/queue/queue_recount.o \
	src/queue/queue_status.o \
	src/queue/queue_ready.o \
	src/queue/queue_rights.o \
	src/queue/queue_wait.o \
	src/pool/pool.o \
	src/pool/pool_launcher.o \
	src/pool/pool_worker.o \
	src/jobs/job_kind.o \
	src/jobs/kind_sql.o \
	src/client/http_client.o \
	src/jobs/kind_http.o \
	src/client/image_probe.o \
	src/client/image_probe_tiff.o \
	src/client/image_exif.o \
	src/client/ocr_cloud.o \
	src/client/ocr_engine.o \
	src/client/ocr_gucs.o \
	src/client/ocr_image.o \
	src/client/ocr_searchable_pdf.o \
	src/client/ocr_pdf.o \
	src/client/ocr_recompress.o \
	src/ocr/ocr_sql.o \
	src/documents/document_owner.o \
	src/documents/kind_ocr.o \
	src/documents/node_verbs.o \
	src/documents/ocr_stats.o \
	src/documents/worker_node.o \
	src/cache/cache_key.o \
	src/cache/cache_l1.o \
	src/cache/cache_l1_memory.o \
	src/cache/cache_sql.o \
	src/cache/cache_tiers.o \
	src/cache/cache_commit.o \
	src/cache/cache_events.o \
	src/cache/cache_fetch.o \
	src/cache/cache_loader.o \
	src/cache/cache_flight.o \
	src/cache/cache_stats.o \
	src/cache/cache_trigger.o \
	src/cache/cache_warm.o \
	src/client/redis.o \
	src/client/redis_breaker.o \
	src/cache/cache_redis_sql.o \
	src/client/redis_url.o \
	src/rate_limit/rate_limit.o \
	src/rate_limit/rate_limit_sql.o \
	src/jobs/kind_policy.o \
	src/client/cron.o \
	src/client/cron_next.o \
	src/lifecycle/cron_sql.o \
	src/lifecycle/policy_schedule.o \
	src/lifecycle/policy_sql.o \
	src/client/s3.o \
	src/client/s3_failure.o \
	src/client/s3_gucs.o \
	src/lifecycle/s3_sql.o \
	src/ops/metrics_format.o \
	src/ops/metrics_shared.o \
	src/ops/metrics_sql.o

# The OCR engine: a program of its own, so that tesseract and leptonica never
# run inside a server process (see src/engine/engine.h).
ENGINE = src/engine/pg_scribe_ocr
ENGINE_OBJS = \
	src/engine/engine_main.o \
	src/engine/engine_decode.o \
	src/client/image_exif.o \
	src/engine/engine_encode.o \
	src/engine/engine_geometry.o \
	src/engine/engine_json.o \
	src/engine/engine_orient.o \
	src/engine/engine_pdf_write.o \
	src/engine/engine_pdf_text.o \
	src/engine/engine_pdf_words.o \
	src/engine/engine_pdf.o \
	src/engine/engine_pdf_pages.o \
	src/engine/engine_verdict.o \
	src/engine/engine_prepare.o \
	src/engine/engine_recognize.o

# The SQL (docs/development.md, "How the SQL is built and upgraded"): state
# made once in src/sql/schema/, functions and views in src/sql/*.sql, written
# with CREATE OR REPLACE and replayed by the install script and every update.
# First in every script: the install check.
PROLOGUE_SQL = src/sql/prologue.sql
# Functions the tables use: before the schema at install, after the delta in an update.
SCHEMA_FUNCTION_SQL = src/sql/schema_functions.sql
# Tables, types, indexes and built-in rows, made once by CREATE EXTENSION, in this order.
SCHEMA_SQL = \
	src/sql/schema/replication.sql \
	src/sql/schema/queue.sql \
	src/sql/schema/documents.sql \
	src/sql/schema/rate_limit.sql \
	src/sql/schema/lifecycle.sql \
	src/sql/schema/cache_events.sql
# Functions, procedures, views, triggers, comments and grants: one file per
# capability, in this order.
FUNCTION_SQL = \
	src/sql/core.sql \
	src/sql/replication.sql \
	src/sql/read_your_writes.sql \
	src/sql/queue.sql \
	src/sql/queue_rights.sql \
	src/sql/pool.sql \
	src/sql/ocr.sql \
	src/sql/documents.sql \
	src/sql/documents_api.sql \
	src/sql/recompress.sql \
	src/sql/cache.sql \
	src/sql/cache_redis.sql \
	src/sql/rate_limit.sql \
	src/sql/lifecycle_cron.sql \
	src/sql/lifecycle.sql \
	src/sql/lifecycle_check.sql \
	src/sql/lifecycle_partitions.sql \
	src/sql/lifecycle_run.sql \
	src/sql/lifecycle_api.sql \
	src/sql/lifecycle_s3.sql \
	src/sql/cache_events.sql \
	src/sql/health.sql \
	src/sql/capacity.sql \
	src/sql/metrics.sql \
	src/sql/capacity_advice.sql \
	src/sql/privileges.sql
# Made once too, after the functions: the built-in rows that need them.
POST_INSTALL_SQL = src/sql/schema/post_install.sql

# The hand-written schema deltas src/sql/updates/X--Y.sql, in version order
# (X--Y.post.sql: optional, run after the function files).  From each delta's
# old version X, pg_scribe--X--$(EXTVERSION).sql runs every delta from X on,
# then the function files once: an update never replays the functions of a
# version in between against a schema they do not know.
UPDATE_DELTAS = $(shell ls src/sql/updates/*--*.sql 2>/dev/null | grep -v '\.post\.sql$$' | sort -V)
UPDATE_POSTS = $(wildcard src/sql/updates/*.post.sql)
UPDATE_FROM = $(foreach d,$(UPDATE_DELTAS),$(firstword $(subst --, ,$(notdir $(basename $(d))))))
UPDATE_SCRIPTS = $(foreach v,$(UPDATE_FROM),$(EXTENSION)--$(v)--$(EXTVERSION).sql)

# The install scripts of released versions, frozen (never edited): CREATE
# EXTENSION ... VERSION 'X' and the update test use them.
DATA = $(wildcard src/sql/versions/$(EXTENSION)--*.sql)
DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(UPDATE_SCRIPTS)

# pg_regress: sql/*.sql against a server that preloads pg_scribe, except the
# tests listed in REGRESS_NOPRELOAD, which need a server that does not.
REGRESS_NOPRELOAD = preload_missing
REGRESS = $(filter-out $(REGRESS_NOPRELOAD),$(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql))))

PG_CPPFLAGS = -I$(srcdir)/src -I$(libpq_srcdir) -DSCRIBE_VERSION='"$(EXTVERSION)"'
# -Bsymbolic: a library installed over a running server's binds to its own
# variables, never to those of the copy the server preloaded
SHLIB_LINK = -lcurl -lhiredis -lpq -Wl,-Bsymbolic
# -Wno-unused-parameter: PostgreSQL headers and PG_FUNCTION_ARGS trip it
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter

EXTRA_CLEAN = $(ENGINE) $(ENGINE_OBJS) test/fuzz/build

# The default goal stays PGXS's build even though test/demo come before the include.
.DEFAULT_GOAL := all

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

# `make test`, `make demo` and `make bench*` install what they need first, so
# they must work on a machine that has no PGXS yet.
.PHONY: test demo charts bench bench-ocr bench-ocr-real bench-searchable-pdf bench-cache bench-cache-events bench-claim-wait bench-recompress bench-lifecycle bench-replication bench-worker-node bench-metrics bench-isolation bench-before-after fuzz deps
test:
	test/bin/run-tests
demo:
	test/bin/demo
bench:
	test/bench/queue.sh
bench-ocr:
	test/bench/ocr.sh
# tesseract CLI, OCRmyPDF and pg_scribe on real pages (issue 16)
bench-ocr-real:
	test/bench/ocr_real.sh
# scribe.ocr_pdf's searchable PDFs against OCRmyPDF's: bytes and seconds (issue 16)
bench-searchable-pdf:
	test/bench/searchable_pdf.sh
bench-cache:
	test/bench/cache.sh
bench-cache-events:
	test/bench/cache_events.sh
# commit-to-return latency of claims that wait (issue 17)
bench-claim-wait:
	test/bench/claim_wait.sh
bench-recompress:
	test/bench/recompress.sh
bench-lifecycle:
	test/bench/lifecycle.sh
bench-replication:
	test/bench/replication.sh
bench-worker-node:
	test/bench/worker_node.sh
bench-metrics:
	test/bench/metrics.sh
bench-isolation:
	test/bench/isolation.sh
# the queue and cache benchmarks of the last build before issue 15 and of this one
bench-before-after:
	test/bench/before_after.sh
# docs/charts/*.svg from the tables in docs/benchmarks.md (runs no benchmark)
charts:
	test/bench/charts.sh
# the image header check, the cron parser and the engine's PDF side under
# libFuzzer (clang): unit cases, replay of the kept crashers and seeds, then
# FUZZ_SECONDS of fuzzing each
FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) -C test/fuzz check replay run run-cron run-words replay-pdf run-pdf SECONDS=$(FUZZ_SECONDS)
deps:
	test/bin/install-deps

ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
all install installcheck:
	@echo "pg_scribe: PGXS not found (PG_CONFIG=$(PG_CONFIG)); run 'make deps' first" >&2; exit 1
endif

# The install script: the prologue, the schema (with the functions it uses
# first), every function file, then the built-in rows that need functions.
$(EXTENSION)--$(EXTVERSION).sql: $(PROLOGUE_SQL) $(SCHEMA_FUNCTION_SQL) $(SCHEMA_SQL) $(FUNCTION_SQL) $(POST_INSTALL_SQL)
	{ printf '%s\n' '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit'; cat $^; } > $@

# An update script from version X: the prologue, the deltas from X on, every
# function file, then the deltas' post parts.
$(UPDATE_SCRIPTS): $(EXTENSION)--%--$(EXTVERSION).sql: $(UPDATE_DELTAS) $(UPDATE_POSTS) $(PROLOGUE_SQL) $(SCHEMA_FUNCTION_SQL) $(FUNCTION_SQL)
	{ printf '%s\n' '\echo Use "ALTER EXTENSION $(EXTENSION) UPDATE" to load this file. \quit'; \
	  deltas=$$(printf '%s\n' $(UPDATE_DELTAS) | sed -n '\|/$*--|,$$p'); \
	  cat $(PROLOGUE_SQL) $$deltas $(SCHEMA_FUNCTION_SQL) $(FUNCTION_SQL); \
	  for d in $$deltas; do if [ -f $${d%.sql}.post.sql ]; then cat $${d%.sql}.post.sql; fi; done; } > $@

all: $(ENGINE)
# PGXS tracks no header dependencies: a changed struct must rebuild every
# object that includes it, so each object depends on every header
$(OBJS) $(ENGINE_OBJS): $(wildcard src/*.h src/*/*.h)
# the version is compiled in (-DSCRIBE_VERSION): a new version rebuilds everything
$(OBJS): $(EXTENSION).control
# PDFs: poppler-glib renders through cairo (docs/architecture.md, "PDFs in the engine")
POPPLER_CFLAGS = $(shell pkg-config --cflags poppler-glib cairo)
POPPLER_LIBS = $(shell pkg-config --libs poppler-glib cairo)
$(ENGINE_OBJS): override CPPFLAGS += $(POPPLER_CFLAGS)
$(ENGINE): $(ENGINE_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -ltesseract -llept -lqpdf $(POPPLER_LIBS) -lm

install: install-engine
.PHONY: install-engine
install-engine: $(ENGINE) installdirs
	$(INSTALL_PROGRAM) $(ENGINE) '$(DESTDIR)$(pkglibdir)/'

# Print a variable, for scripts: make -s print-REGRESS
print-%:
	@echo '$($*)'
