package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseScenarios(t *testing.T) {
	got, err := ParseScenarios("password:500, code:64@1500,me,code:64", 16)
	if err != nil {
		t.Fatal(err)
	}
	want := []Scenario{{"me", 16, 0}, {"code", 64, 1500}, {"code", 64, 0}, {"password", 500, 0}}
	if len(got) != len(want) {
		t.Fatalf("ParseScenarios = %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ParseScenarios[%d] = %v; want %v (the flood last)", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "me:0", "me:x", "login", "me,me", "code@-1", "code:3000"} {
		if _, err := ParseScenarios(bad, 8); err == nil {
			t.Errorf("ParseScenarios(%q) = nil error; want one", bad)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://example.com", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8080", false},
	} {
		if err := checkLoopback(tt.url); (err == nil) != tt.ok {
			t.Errorf("checkLoopback(%q) = %v; want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := percentiles(d)
	want := Latency{P50: 50, P95: 95, P99: 99, Max: 100}
	if got != want {
		t.Errorf("percentiles(1..100 ms) = %+v; want %+v", got, want)
	}
	if got := percentiles(nil); got != (Latency{}) {
		t.Errorf("percentiles(nil) = %+v; want zero", got)
	}
}

// drive counts successes and errors by status, stops when the work runs
// out, and keeps to a fixed rate when given one.
func TestDrive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/busy") {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"code":"busy"}`)
			return
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	c := newClient(srv.URL, 4, nil)
	defer c.close()
	ctx := context.Background()

	var n atomic.Int64
	st := drive(ctx, 4, 10*time.Second, 0, func(ctx context.Context, w int) (outcome, bool) {
		i := n.Add(1)
		if i > 100 {
			return outcome{}, true
		}
		path := "/ok"
		if i%10 == 0 {
			path = "/busy"
		}
		o, _ := c.do(ctx, "GET", path, "", nil)
		return o, false
	})
	if st.Completed != 90 || st.Errors != 10 || st.ErrorsBy["503 busy"] != 10 || !st.Exhausted {
		t.Errorf("drive = %d completed, %d errors %v, exhausted %v; want 90, 10 {503 busy: 10}, true", st.Completed, st.Errors, st.ErrorsBy, st.Exhausted)
	}

	st = drive(ctx, 4, 500*time.Millisecond, 40, func(ctx context.Context, w int) (outcome, bool) {
		o, _ := c.do(ctx, "GET", "/ok", "", nil)
		return o, false
	})
	if st.Completed < 10 || st.Completed > 25 {
		t.Errorf("drive at 40/s for 0.5 s completed %d; want about 20", st.Completed)
	}
}
