package eks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/token"
)

// Defaults of a Scan.
const (
	DefaultMaxInFlight = 32
	DefaultPerPair     = 4
	// progressAfter: a scan that is done sooner prints no progress.
	progressAfter = time.Second
)

// Scan says where to look for clusters.
type Scan struct {
	// Profiles to scan; "" stands for the default credential chain.
	Profiles []string
	// Regions to scan in every profile; empty means each profile's own
	// region. AllRegions scans every region of the profile's partition as
	// the SDK's partition data lists them (token.Partitions).
	Regions    []string
	AllRegions bool

	// MaxInFlight bounds the EKS calls in flight overall, PerPair those for
	// one (profile, region); 0 means the defaults (32, 4).
	MaxInFlight, PerPair int
	Client               ClientOptions

	// Progress, when set, receives a progress line every second once the
	// scan has taken over a second; Terminal overwrites it in place.
	Progress io.Writer
	Terminal bool
}

// Pair is one (profile, region) scanned.
type Pair struct{ Profile, Region string }

// Found is one cluster discovered.
type Found struct {
	Profile string  `json:"profile"`
	Cluster Cluster `json:"cluster"`
	// Context is the context discovery writes (or found written) for it;
	// empty when the cluster cannot have one (its status).
	Context string `json:"context,omitempty"`
	// Note says why nothing was written, or what was kept.
	Note string `json:"note,omitempty"`
	// DuplicateOf is the profile that wrote the same cluster (same ARN)
	// before this one.
	DuplicateOf string `json:"duplicateOf,omitempty"`
}

// Result is a finished scan.
type Result struct {
	Found []Found
	// Warnings are one line each: a profile that does not load, a region
	// that is disabled, denied or unreachable, a cluster that would not
	// describe. None is fatal.
	Warnings []string
	// Scanned are the pairs that answered: --prune only ever removes
	// entries of these.
	Scanned []Pair
	Pairs   int
}

// Discover lists and describes the clusters of every (profile, region) pair
// of s, concurrently within the bounds. A pair that fails is a warning;
// Discover fails only when no pair could be scanned at all.
func Discover(ctx context.Context, s Scan) (*Result, error) {
	if len(s.Profiles) == 0 {
		s.Profiles = []string{""}
	}
	for _, r := range s.Regions {
		if err := CheckRegion(r); err != nil {
			return nil, err
		}
	}
	inFlight := cmp.Or(s.MaxInFlight, DefaultMaxInFlight)
	if s.Client.HTTPClient == nil {
		// One client for the whole scan, keeping as many idle connections
		// per host as calls may be in flight: the SDK's default keeps 10
		// per client, so a busy scan would keep opening (TLS) connections.
		s.Client.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = inFlight
		})
	}
	d := &discovery{scan: s, global: make(chan struct{}, inFlight), res: &Result{}}
	stop := d.progress()
	defer stop()

	// Profiles load in parallel: an SSO or credential_process profile
	// reads files and may start a process.
	type loaded struct {
		cfg     aws.Config
		regions []string
		err     error
	}
	cfgs := make([]loaded, len(s.Profiles))
	var wg sync.WaitGroup
	for i, p := range s.Profiles {
		wg.Go(func() {
			cfg, err := LoadProfile(ctx, p, "")
			regions := s.Regions
			switch {
			case err != nil:
			case s.AllRegions:
				regions = token.PartitionForRegion(cfg.Region).Regions
			case len(regions) == 0:
				regions = []string{cfg.Region}
			}
			cfgs[i] = loaded{cfg, regions, err}
		})
	}
	wg.Wait()
	for i, p := range s.Profiles {
		if cfgs[i].err != nil {
			d.warn(fmt.Sprintf("skipping profile %s: %s", profileLabel(p), text.OneLine(cfgs[i].err.Error())))
			continue
		}
		d.total.Add(int64(len(cfgs[i].regions)))
	}
	for i, p := range s.Profiles {
		if cfgs[i].err != nil {
			continue
		}
		for _, r := range cfgs[i].regions {
			wg.Go(func() { d.pair(ctx, NewClient(cfgs[i].cfg, p, r, s.Client)) })
		}
	}
	wg.Wait()
	res := d.res
	res.Pairs = int(d.total.Load())
	order := map[string]int{}
	for i, p := range s.Profiles {
		order[p] = i
	}
	slices.SortFunc(res.Found, func(a, b Found) int {
		return cmp.Or(cmp.Compare(order[a.Profile], order[b.Profile]), cmp.Compare(a.Cluster.Region, b.Cluster.Region), cmp.Compare(a.Cluster.Name, b.Cluster.Name))
	})
	slices.SortFunc(res.Scanned, func(a, b Pair) int {
		return cmp.Or(cmp.Compare(order[a.Profile], order[b.Profile]), cmp.Compare(a.Region, b.Region))
	})
	seen := map[string]string{}
	for i := range res.Found {
		f := &res.Found[i]
		if p, ok := seen[f.Cluster.ARN]; ok {
			f.DuplicateOf = p
			continue
		}
		seen[f.Cluster.ARN] = f.Profile
	}
	if len(res.Scanned) == 0 {
		return res, errors.New("could not scan any (profile, region): see the warnings above")
	}
	return res, nil
}

func profileLabel(p string) string {
	if p == "" {
		return "(default)"
	}
	return p
}

type discovery struct {
	scan   Scan
	global chan struct{}

	total, done, clusters atomic.Int64

	mu  sync.Mutex
	res *Result
}

func (d *discovery) warn(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.res.Warnings = append(d.res.Warnings, s)
}

// call runs fn holding a slot of the global bound.
func (d *discovery) call(ctx context.Context, fn func() error) error {
	select {
	case d.global <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-d.global }()
	return fn()
}

// pair scans one (profile, region): the list, then the descriptions, at
// most PerPair at a time.
func (d *discovery) pair(ctx context.Context, c *Client) {
	defer d.done.Add(1)
	var names []string
	err := d.call(ctx, func() (err error) { names, err = c.List(ctx); return })
	if err != nil {
		d.warn(fmt.Sprintf("skipping %s in %s: %s", profileLabel(c.Profile), c.Region, text.OneLine(err.Error())))
		return
	}
	d.mu.Lock()
	d.res.Scanned = append(d.res.Scanned, Pair{c.Profile, c.Region})
	d.mu.Unlock()
	d.describeAll(ctx, c, names)
}

// describeAll describes the clusters names of one pair, at most PerPair at
// a time.
func (d *discovery) describeAll(ctx context.Context, c *Client, names []string) {
	local := make(chan struct{}, cmp.Or(d.scan.PerPair, DefaultPerPair))
	var wg sync.WaitGroup
	for _, name := range names {
		local <- struct{}{}
		wg.Go(func() {
			defer func() { <-local }()
			var cl Cluster
			err := d.call(ctx, func() (err error) { cl, err = c.Describe(ctx, name); return })
			switch {
			case errors.Is(err, ErrNotFound):
				// Deleted between the list and the description.
			case err != nil:
				d.warn(text.OneLine(err.Error()))
			default:
				d.clusters.Add(1)
				d.mu.Lock()
				d.res.Found = append(d.res.Found, Found{Profile: c.Profile, Cluster: cl})
				d.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// progress prints a line a second once the scan has run for a second, and
// returns the function that stops it.
func (d *discovery) progress() func() {
	w := d.scan.Progress
	if w == nil {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		printed := false
		t := time.NewTimer(progressAfter)
		defer t.Stop()
		// A terminal gets a line rewritten every second; a log (stderr
		// not a terminal) gets one summary line at the end, and only when
		// the scan was slow enough to have shown progress on a terminal.
		for {
			select {
			case <-quit:
				switch {
				case printed && d.scan.Terminal:
					fmt.Fprintln(w)
				case printed:
					fmt.Fprintf(w, "kubeiam: scanned %d of %d (profile, region) pairs, %d clusters\n", d.done.Load(), d.total.Load(), d.clusters.Load())
				}
				return
			case <-t.C:
			}
			if d.scan.Terminal {
				fmt.Fprintf(w, "\rkubeiam: scanned %d of %d (profile, region) pairs, %d clusters so far", d.done.Load(), d.total.Load(), d.clusters.Load())
			}
			printed = true
			t.Reset(time.Second)
		}
	}()
	return func() { close(quit); <-finished }
}
