package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/route"
)

// The route label is the pattern of the innermost mux that matched, as the
// server nests them (root mux, then the API's or the pages' own); a path
// no route matched is "unmatched"; the status is the one answered.
func TestMiddlewareLabelsByInnermostRoute(t *testing.T) {
	api := http.NewServeMux()
	api.HandleFunc("POST /api/v1/session", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) })
	api.HandleFunc("GET /api/v1/me", func(w http.ResponseWriter, r *http.Request) {
		// A handler further in that copies the request changes nothing.
		_ = r.WithContext(context.Background())
		io.WriteString(w, "{}")
	})
	root := http.NewServeMux()
	root.Handle("/api/", route.Recorded(api))
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	m := New()
	h := m.Middleware(route.Recorded(root))

	for _, tc := range []struct{ method, path string }{
		{"POST", "/api/v1/session"}, {"POST", "/api/v1/session"}, {"GET", "/api/v1/me"},
		{"GET", "/healthz"}, {"GET", "/nothing/here?email=ana@example.com"}, {"GET", "/api/v1/unknown"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.path, nil))
	}
	for _, tc := range []struct {
		route, code string
		want        float64
	}{
		{"POST /api/v1/session", "401", 2},
		{"GET /api/v1/me", "200", 1},
		{"GET /healthz", "200", 1},
		{"unmatched", "404", 2}, // /nothing/here, and /api/v1/unknown that the API's mux matched nothing for
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(tc.route, tc.code)); got != tc.want {
			t.Errorf("requests{route=%q,code=%q} = %v; want %v", tc.route, tc.code, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(m.requests); n != 4 {
		t.Errorf("%d request series; want 4 (no series per path or query)", n)
	}
}

type failingOutbox struct{}

func (failingOutbox) OutboxBacklog(context.Context, int) ([]account.OutboxBacklog, error) {
	return nil, errors.New("database is down")
}

type fixedOutbox struct{ b []account.OutboxBacklog }

func (f fixedOutbox) OutboxBacklog(context.Context, int) ([]account.OutboxBacklog, error) {
	return f.b, nil
}

func scrapeText(t *testing.T, m *Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Code, rec.Body.String()
}

// The outbox gauges come from the database at scrape time; when it fails,
// they are left out and every other metric is still served.
func TestOutboxBacklog(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	m := New()
	m.WatchOutbox(fixedOutbox{[]account.OutboxBacklog{
		{Channel: account.ChannelEmail, Queued: 3, GivenUp: 1, Oldest: now.Add(-90 * time.Second)},
		{Channel: account.ChannelSMS, Queued: 2, Oldest: now.Add(-20 * time.Minute)},
	}}, 10, []account.Channel{account.ChannelEmail}, func() time.Time { return now })
	m.SignInStep(account.StepPassword, account.OutcomeWrong)
	_, body := scrapeText(t, m)
	for _, want := range []string{`twofold_outbox_queued_messages{channel="email"} 3`, `twofold_outbox_given_up_messages{channel="email"} 1`,
		`twofold_outbox_oldest_queued_age_seconds{channel="email"} 90`, `twofold_outbox_sender_enabled{channel="email"} 1`,
		`twofold_outbox_queued_messages{channel="sms"} 2`, `twofold_outbox_given_up_messages{channel="sms"} 0`,
		`twofold_outbox_oldest_queued_age_seconds{channel="sms"} 1200`, `twofold_outbox_sender_enabled{channel="sms"} 0`,
		`twofold_sign_in_steps_total{outcome="wrong",step="password"} 1`, `twofold_sign_in_steps_total{outcome="ok",step="totp"} 0`} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}

	down := New()
	down.WatchOutbox(failingOutbox{}, 10, nil, time.Now)
	down.Throttled("code")
	code, body := scrapeText(t, down)
	if code != 200 || !strings.Contains(body, `twofold_throttle_rejections_total{limit="code"} 1`) || !strings.Contains(body, `twofold_outbox_sender_enabled{channel="email"} 0`) {
		t.Errorf("scrape with the outbox count failing = %d:\n%s\nwant 200 with the other metrics", code, body)
	}
	if strings.Contains(body, "twofold_outbox_queued_messages") {
		t.Error("an outbox count that failed is reported as a value")
	}
}
