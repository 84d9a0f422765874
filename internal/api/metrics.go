package api

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/store"
)

// metrics are the node's Prometheus metrics, served at GET /metrics
// (docs/OPERATIONS.md lists them). They live on a registry of the
// server's own: several nodes in one process (as tests run them) would
// collide on the default one. No label carries personal data or anything
// a caller chose: routes are the API's patterns, results the closed set
// of refusal codes, statuses numbers.
type metrics struct {
	reg *prometheus.Registry

	requests  *prometheus.HistogramVec
	records   *prometheus.CounterVec
	commit    prometheus.Histogram
	audited   *prometheus.CounterVec
	auditFail prometheus.Counter
	interval  prometheus.Histogram

	mu       sync.Mutex
	lastTime int64 // the last block's time seen by the tap
}

// latencyBuckets span a lone record's commit (a few ms) to a consortium's
// queue under load (tens of seconds).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

func newMetrics(n *node.Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "epiledger_http_request_duration_seconds",
		Help:    "API requests by route (the pattern, e.g. \"POST /v1/trace/contacts\") and HTTP status: time to the last byte of the answer.",
		Buckets: latencyBuckets,
	}, []string{"route", "status"})
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "epiledger_records_total",
		Help: "Records submitted to this node's API, by result: accepted, or the refusal's code (replay, conflict, bad_signature, ...).",
	}, []string{"result"})
	m.commit = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "epiledger_commit_latency_seconds",
		Help:    "From a record's arrival at the API to the answer that its block is durable here (accepted records).",
		Buckets: latencyBuckets,
	})
	m.audited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "epiledger_audited_reads_total",
		Help: "Reads of personal data whose audit records were committed before they ran, by route.",
	}, []string{"route"})
	m.auditFail = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "epiledger_audit_failures_total",
		Help: "Reads of personal data refused because their audit record could not be committed.",
	})
	m.interval = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "epiledger_block_interval_seconds",
		Help:    "Time between consecutive blocks committed on this node, by the blocks' own times.",
		Buckets: []float64{.005, .01, .025, .05, .1, .2, .5, 1, 2, 5, 10, 30, 60, 120},
	})
	head := func() float64 {
		if n.Engine == nil {
			return 0
		}
		return float64(n.Engine.Head().Height)
	}
	halted := func() float64 {
		if n.Engine != nil && n.Engine.Halted() != nil {
			return 1
		}
		return 0
	}
	m.reg.MustRegister(m.requests, m.records, m.commit, m.audited, m.auditFail, m.interval,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "epiledger_block_height", Help: "Height of the last block committed on this node."}, head),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "epiledger_engine_halted", Help: "1 if a storage failure stopped this node's writes, else 0."}, halted),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "epiledger_store_bytes", Help: "Bytes of this node's store on disk (tables and logs)."},
			func() float64 { return float64(n.DB.SizeOnDisk()) }),
		timelineCollector{n},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// The tap lives as long as the store: a server serves its node until
	// the process ends.
	n.DB.Tap([]byte{store.TabHeader}, m.headers)
	return m
}

// headers observes the interval between committed blocks (the tap on the
// header table: called once per committed block, in order).
func (m *metrics) headers(ops []store.Op) {
	for _, op := range ops {
		if op.Delete {
			continue
		}
		h, err := ledger.DecodeHeader(op.Value)
		if err != nil {
			continue
		}
		m.mu.Lock()
		if m.lastTime != 0 && h.Time > m.lastTime {
			m.interval.Observe(time.Duration(h.Time - m.lastTime).Seconds())
		}
		m.lastTime = h.Time
		m.mu.Unlock()
	}
}

// handler serves the registry in Prometheus's text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// request records one API request.
func (m *metrics) request(route string, status int, d time.Duration) {
	if route == "" {
		route = "other"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
}

// record records one submitted record's result, and the commit latency
// of an accepted one.
func (m *metrics) record(e *Error, since time.Time) {
	if e != nil {
		m.records.WithLabelValues(e.Code).Inc()
		return
	}
	m.records.WithLabelValues("accepted").Inc()
	m.commit.Observe(time.Since(since).Seconds())
}

// timelineCollector reports the resident timeline's state as
// epiledger_timeline_state{state="..."} 1, read at each scrape.
type timelineCollector struct{ n *node.Node }

var timelineDesc = prometheus.NewDesc("epiledger_timeline_state",
	"The resident timeline's state (off, loading, ready or failed): 1 for the current one.", []string{"state"}, nil)

func (c timelineCollector) Describe(ch chan<- *prometheus.Desc) { ch <- timelineDesc }

func (c timelineCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(timelineDesc, prometheus.GaugeValue, 1, c.n.TimelineStatus())
}
