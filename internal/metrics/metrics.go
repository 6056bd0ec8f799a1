// Package metrics exposes twofold's Prometheus metrics: HTTP requests by
// route and status, sign-in steps by outcome, throttling, the password
// hashers, the outbox, store transactions and connection pools, and the
// build. It is served on a listener of its own (serve --metrics-addr),
// never on the public port.
//
// No label ever holds an email, an IP, a token or a code: routes are the
// mux's patterns, and everything else is a fixed set of kinds and outcomes
// that the account and notify packages name (account.Observer,
// notify.Observer). The whole-system test scrapes the listener and checks it.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/notify"
	"github.com/twofold/twofold/internal/password"
	"github.com/twofold/twofold/internal/route"
)

const namespace = "twofold"

var (
	_ account.Observer = (*Metrics)(nil)
	_ notify.Observer  = (*Metrics)(nil)
)

// Metrics holds the collectors of one twofold process. It implements
// account.Observer and notify.Observer.
type Metrics struct {
	reg *prometheus.Registry

	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	signIns   *prometheus.CounterVec
	throttled *prometheus.CounterVec
	sent      *prometheus.CounterVec
	failed    *prometheus.CounterVec
	tx        *prometheus.HistogramVec
}

// New returns the metrics of a process, with the Go runtime, process and
// build information already registered.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and status code.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20},
		}, []string{"route", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "http_requests_in_flight",
			Help: "HTTP requests being answered now.",
		}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sign_in_steps_total",
			Help: "Sign-in steps by step (password, totp, backup_code, code) and outcome.",
		}, []string{"step", "outcome"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "throttle_rejections_total",
			Help: "Attempts refused by a throttle, by limit.",
		}, []string{"limit"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "outbox_sent_total",
			Help: "Messages delivered from the outbox, by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "outbox_send_failures_total",
			Help: "Failed delivery attempts from the outbox (each is retried), by kind.",
		}, []string{"kind"}),
		tx: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "store_transaction_duration_seconds",
			Help:    "Time of a store write transaction, by what it is (use_case, throttle) and result (commit, rollback).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 11),
		}, []string{"kind", "result"}),
	}
	reg.MustRegister(m.requests, m.latency, m.inFlight, m.signIns, m.throttled, m.sent, m.failed, m.tx,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfo())
	// Every step and outcome exists from the start at 0, so that rate()
	// and increase() see the first failure after a restart.
	for _, step := range []account.SignInStep{account.StepPassword, account.StepTOTP, account.StepBackupCode, account.StepCode} {
		for _, outcome := range []account.SignInOutcome{account.OutcomeOK, account.OutcomeWrong, account.OutcomeReplayed,
			account.OutcomeThrottled, account.OutcomeBusy, account.OutcomeSuspended, account.OutcomeExpired,
			account.OutcomeStale, account.OutcomeError} {
			m.signIns.WithLabelValues(string(step), string(outcome))
		}
	}
	return m
}

// buildInfo is twofold_build_info: 1, labelled with the module version, the
// VCS revision when the binary was built from a checkout, and the Go version.
func buildInfo() prometheus.Collector {
	version, revision, goVersion := "unknown", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version, goVersion = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels say which twofold this is.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	return g
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	// A collector that fails (the outbox count when the database is
	// down) drops its own metrics from the scrape, not everyone else's.
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// Middleware counts and times every request by the route pattern the
// server's muxes matched (route.Recorded) and the status answered. A
// request no route matched is labelled "unmatched".
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		r, pattern := route.Track(r)
		rec := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		p := pattern()
		if p == "" {
			p = "unmatched"
		}
		code := strconv.Itoa(max(rec.status, http.StatusOK))
		m.requests.WithLabelValues(p, code).Inc()
		m.latency.WithLabelValues(p, code).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// SignInStep implements account.Observer.
func (m *Metrics) SignInStep(step account.SignInStep, outcome account.SignInOutcome) {
	m.signIns.WithLabelValues(string(step), string(outcome)).Inc()
}

// Throttled implements account.Observer.
func (m *Metrics) Throttled(limit string) { m.throttled.WithLabelValues(limit).Inc() }

// Sent implements notify.Observer.
func (m *Metrics) Sent(kind string) { m.sent.WithLabelValues(kind).Inc() }

// Failed implements notify.Observer.
func (m *Metrics) Failed(kind string) { m.failed.WithLabelValues(kind).Inc() }

// Store returns st with its write transactions timed: each use case's
// InTx and each throttle reservation.
func (m *Metrics) Store(st account.Store) account.Store { return &timedStore{Store: st, tx: m.tx} }

type timedStore struct {
	account.Store
	tx *prometheus.HistogramVec
}

func (s *timedStore) InTx(ctx context.Context, fn func(ctx context.Context, tx account.Tx) error) error {
	start := time.Now()
	err := s.Store.InTx(ctx, fn)
	s.tx.WithLabelValues("use_case", result(err)).Observe(time.Since(start).Seconds())
	return err
}

func (s *timedStore) ReserveAttempts(ctx context.Context, now time.Time, limits []account.AttemptLimit) ([]int64, int, time.Time, error) {
	start := time.Now()
	ids, refused, oldest, err := s.Store.ReserveAttempts(ctx, now, limits)
	s.tx.WithLabelValues("throttle", result(err)).Observe(time.Since(start).Seconds())
	return ids, refused, oldest, err
}

func result(err error) string {
	if err != nil {
		return "rollback"
	}
	return "commit"
}

// WatchHasher reports the password hashers' use at each scrape.
func (m *Metrics) WatchHasher(h *password.Hasher) {
	gauge := func(name, help string, value func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help},
			func() float64 { return float64(value()) })
	}
	m.reg.MustRegister(
		gauge("password_hashes_running", "Password hashes computing now.", func() int { r, _, _ := h.Load(); return r }),
		gauge("password_hashes_waiting", "Password hashes waiting for a slot.", func() int { _, w, _ := h.Load(); return w }),
		gauge("password_hash_slots", "Password hashes that may run at once (--hash-concurrency).", func() int { _, _, s := h.Load(); return s }),
	)
}

// BacklogSource is the store's count of unsent messages, per channel.
type BacklogSource interface {
	OutboxBacklog(ctx context.Context, maxAttempts int) ([]account.OutboxBacklog, error)
}

// WatchOutbox reports the outbox backlog of each channel, read from the
// database at each scrape (so every instance of a shared database reports
// the same), and which channels this instance sends at all.
func (m *Metrics) WatchOutbox(src BacklogSource, maxAttempts int, sending []account.Channel, now func() time.Time) {
	m.reg.MustRegister(&outboxCollector{src: src, maxAttempts: maxAttempts, sending: sending, now: now})
}

var (
	channelLabel      = []string{"channel"}
	outboxQueuedDesc  = prometheus.NewDesc(namespace+"_outbox_queued_messages", "Messages in the outbox not sent yet and still to be tried, by channel (email, sms).", channelLabel, nil)
	outboxGivenUpDesc = prometheus.NewDesc(namespace+"_outbox_given_up_messages", "Messages in the outbox that used every delivery attempt, by channel.", channelLabel, nil)
	outboxAgeDesc     = prometheus.NewDesc(namespace+"_outbox_oldest_queued_age_seconds", "Age of the oldest message still to be sent, by channel; 0 when none.", channelLabel, nil)
	outboxSendingDesc = prometheus.NewDesc(namespace+"_outbox_sender_enabled", "1 when this instance sends the channel's messages (email: TWOFOLD_SMTP_URL is set; sms: TWOFOLD_TWILIO_ACCOUNT_SID is), 0 when they wait for the operator.", channelLabel, nil)
)

type outboxCollector struct {
	src         BacklogSource
	maxAttempts int
	sending     []account.Channel
	now         func() time.Time
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxQueuedDesc
	ch <- outboxGivenUpDesc
	ch <- outboxAgeDesc
	ch <- outboxSendingDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	for _, channel := range account.Channels {
		sending := 0.0
		if slices.Contains(c.sending, channel) {
			sending = 1
		}
		ch <- prometheus.MustNewConstMetric(outboxSendingDesc, prometheus.GaugeValue, sending, channel.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	backlogs, err := c.src.OutboxBacklog(ctx, c.maxAttempts)
	if err != nil {
		// The scrape fails for these three, and says why, rather than
		// reporting an empty outbox.
		ch <- prometheus.NewInvalidMetric(outboxQueuedDesc, err)
		return
	}
	for _, b := range backlogs {
		age := 0.0
		if !b.Oldest.IsZero() {
			age = max(c.now().Sub(b.Oldest).Seconds(), 0)
		}
		channel := b.Channel.String()
		ch <- prometheus.MustNewConstMetric(outboxQueuedDesc, prometheus.GaugeValue, float64(b.Queued), channel)
		ch <- prometheus.MustNewConstMetric(outboxGivenUpDesc, prometheus.GaugeValue, float64(b.GivenUp), channel)
		ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age, channel)
	}
}

// WatchSQLite reports the SQLite store's two connection pools (go_sql_*,
// db_name "sqlite_read" and "sqlite_write").
func (m *Metrics) WatchSQLite(read, write *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(read, "sqlite_read"), collectors.NewDBStatsCollector(write, "sqlite_write"))
}

// WatchPostgres reports the PostgreSQL connection pool.
func (m *Metrics) WatchPostgres(pool *pgxpool.Pool) {
	m.reg.MustRegister(&poolCollector{pool: pool})
}

var (
	poolConnsDesc    = prometheus.NewDesc(namespace+"_postgres_pool_connections", "Connections of the PostgreSQL pool by state.", []string{"state"}, nil)
	poolMaxDesc      = prometheus.NewDesc(namespace+"_postgres_pool_max_connections", "The PostgreSQL pool's size (pool_max_conns).", nil, nil)
	poolAcquiresDesc = prometheus.NewDesc(namespace+"_postgres_pool_acquires_total", "Connections taken from the pool.", nil, nil)
	poolWaitsDesc    = prometheus.NewDesc(namespace+"_postgres_pool_acquire_waits_total", "Takes that had to wait for a connection.", nil, nil)
	poolWaitTimeDesc = prometheus.NewDesc(namespace+"_postgres_pool_acquire_wait_seconds_total", "Time spent waiting for a connection.", nil, nil)
)

type poolCollector struct{ pool *pgxpool.Pool }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConnsDesc, poolMaxDesc, poolAcquiresDesc, poolWaitsDesc, poolWaitTimeDesc} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(s.AcquiredConns()), "in_use")
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(s.ConstructingConns()), "connecting")
	ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolAcquiresDesc, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaitsDesc, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaitTimeDesc, prometheus.CounterValue, s.EmptyAcquireWaitTime().Seconds())
}
