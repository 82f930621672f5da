package ststest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EKS is a stand-in for the EKS API (ListClusters, DescribeCluster), for
// tests and the benchmark harness. Requests are SigV4-checked against the
// identities of the STS Server it belongs to, for service "eks"; the region
// a request addresses is the region of its credential scope, so one EKS
// stand-in behind AWS_ENDPOINT_URL_EKS serves every region, as the real
// regional endpoints would. The caller's account (from its identity) picks
// the clusters it sees.
type EKS struct {
	sts *Server

	mu       sync.Mutex
	clusters map[string][]EKSCluster // account/region -> clusters
	disabled map[string]bool         // account/region
	denied   map[string]bool         // caller ARN, or caller ARN/region
	latency  time.Duration
	counts   map[string]int
	// inFlight counts requests being answered, overall and per
	// account/region; peak and peakPair are their maxima.
	inFlight     int
	inFlightPair map[string]int
	peak         int
	peakPair     int

	// Access entries and mode changes (eks_access.go).
	acc         map[string]*clusterAccess // account/region/cluster
	updateDelay time.Duration
	// A token bucket: rate per second, burst at once; rate 0 is off.
	rate, burst, tokens float64
	last                time.Time
	throttles           int
}

// EKSCluster is one cluster as DescribeCluster reports it.
type EKSCluster struct {
	Account string
	Region  string
	Name    string
	// Status is ACTIVE (default), CREATING, UPDATING, DELETING or FAILED.
	Status string
	// Version is the Kubernetes version ("1.31" by default).
	Version string
	// Endpoint defaults to a made-up https://<HEX>.gr7.<region>.eks.amazonaws.com.
	Endpoint string
	// CAData is certificateAuthority.data (base64 PEM); a fixed fake by default.
	CAData string
	// ID is the cluster's id; EKS reports one only for Outposts local clusters.
	ID string
	// Outpost, when set, is the outpostConfig of a local cluster.
	Outpost *EKSOutpostConfig
	// AuthenticationMode is accessConfig.authenticationMode (API_AND_CONFIG_MAP by default).
	AuthenticationMode string
	// NodeRoles are the IAM roles of the cluster's managed node groups: EKS
	// gives each an EC2_LINUX access entry when the cluster leaves CONFIG_MAP.
	NodeRoles []string
}

// EKSOutpostConfig is outpostConfig. ControlPlaneInstanceType is always set
// by EKS for local clusters; tests leave it empty to check a reader does not
// depend on it.
type EKSOutpostConfig struct {
	OutpostARNs              []string `json:"outpostArns"`
	ControlPlaneInstanceType string   `json:"controlPlaneInstanceType,omitempty"`
}

// ARN is the cluster's ARN.
func (c EKSCluster) ARN() string {
	return fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", c.Region, c.Account, c.Name)
}

// FakeCAData is the default certificateAuthority.data: a base64 PEM
// certificate (self-signed, not used for TLS by any test).
const FakeCAData = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJnVENDQVNlZ0F3SUJBZ0lVVDU5NWtNbStQWUlXejZVWEtIUWNoTFFJeGprd0NnWUlLb1pJemowRUF3SXcKRlRFVE1CRUdBMVVFQXd3S2EzVmlaWEp1WlhSbGN6QWdGdzB5TmpFeU1ERXlNakEwTXpCYUdBOHlNVEkyTVRFdwpOekl5TURRek1Gb3dGVEVUTUJFR0ExVUVBd3dLYTNWaVpYSnVaWFJsY3pCWk1CTUdCeXFHU000OUFnRUdDQ3FHClNNNDlBd0VIQTBJQUJQWXlKR2VkenZvTFlTMFg4Nmg0TUhtMlJMTGdYWVkwWjcrQzlMekxsVkducFhscEZzbm0KMm1oelA1UGtoekV2WVNmYVRFRFBwYU93R3YxWXdGWmcxZm1qVXpCUk1CMEdBMVVkRGdRV0JCU2RSYUxaWjVDcApDUzE0cEprbmVBb2lDb3R0NURBZkJnTlZIU01FR0RBV2dCU2RSYUxaWjVDcENTMTRwSmtuZUFvaUNvdHQ1REFQCkJnTlZIUk1CQWY4RUJUQURBUUgvTUFvR0NDcUdTTTQ5QkFNQ0EwZ0FNRVVDSVFDcWRLeDJOV0NSQUdsWmlobjcKZjV4SkJvYktJdHM2OW8wV0VURFFESnByYUFJZ1RZd0VtRnBoK3l0T0JUNUhDNXhic1Q4QjhLMXFLWU1CZ3FvbAp3S3V2V21zPQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="

// NewEKS returns an EKS stand-in that authenticates callers with sts's
// identity table.
func NewEKS(sts *Server) *EKS {
	return &EKS{sts: sts, clusters: map[string][]EKSCluster{}, disabled: map[string]bool{}, denied: map[string]bool{}, counts: map[string]int{},
		inFlightPair: map[string]int{}, acc: map[string]*clusterAccess{}}
}

func eksKey(account, region string) string { return account + "/" + region }

// AddCluster adds c (defaults filled in) and returns it as stored.
func (e *EKS) AddCluster(c EKSCluster) EKSCluster {
	if c.Status == "" {
		c.Status = "ACTIVE"
	}
	if c.Version == "" {
		c.Version = "1.31"
	}
	if c.Endpoint == "" {
		c.Endpoint = "https://" + strings.ToUpper(randHex(16)) + ".gr7." + c.Region + ".eks.amazonaws.com"
	}
	if c.CAData == "" {
		c.CAData = FakeCAData
	}
	if c.AuthenticationMode == "" {
		c.AuthenticationMode = "API_AND_CONFIG_MAP"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := eksKey(c.Account, c.Region)
	e.clusters[k] = slices.DeleteFunc(e.clusters[k], func(o EKSCluster) bool { return o.Name == c.Name })
	e.clusters[k] = append(e.clusters[k], c)
	return c
}

// RemoveCluster deletes a cluster, as after `aws eks delete-cluster`.
func (e *EKS) RemoveCluster(account, region, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := eksKey(account, region)
	e.clusters[k] = slices.DeleteFunc(e.clusters[k], func(o EKSCluster) bool { return o.Name == name })
}

// DisableRegion makes region answer the account's callers as an opt-in
// region the account has not enabled does: UnrecognizedClientException
// ("The security token included in the request is invalid").
func (e *EKS) DisableRegion(account, region string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.disabled[eksKey(account, region)] = true
}

// Deny makes every EKS call of the caller with this ARN fail with
// AccessDeniedException; with regions, only in those regions.
func (e *EKS) Deny(callerARN string, regions ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(regions) == 0 {
		e.denied[callerARN] = true
	}
	for _, r := range regions {
		e.denied[callerARN+"/"+r] = true
	}
}

// SetLatency makes every later request wait d before it is answered.
func (e *EKS) SetLatency(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latency = d
}

// Count returns how many requests for an operation ("ListClusters",
// "DescribeCluster") reached the stand-in, rejected ones included.
func (e *EKS) Count(op string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[op]
}

// Peak returns the most requests that were in flight at once, overall and
// for one (account, region): what a client's concurrency bounds allowed.
func (e *EKS) Peak() (overall, perPair int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.peak, e.peakPair
}

// enter counts a signed request in flight for key until the returned
// function runs.
func (e *EKS) enter(key string) func() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inFlight++
	e.inFlightPair[key]++
	e.peak = max(e.peak, e.inFlight)
	e.peakPair = max(e.peakPair, e.inFlightPair[key])
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.inFlight--
		e.inFlightPair[key]--
	}
}

// eksMaxResults is ListClusters' page size limit (and default).
const eksMaxResults = 100

// ServeHTTP answers one EKS REST-JSON request.
func (e *EKS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	// Principal ARNs travel escaped in the path (role/x/y is one segment).
	op, params := routeEKS(r.Method, r.URL.EscapedPath())
	name := params["cluster"]
	e.mu.Lock()
	e.counts[op]++
	latency := e.latency
	e.mu.Unlock()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if r.Header.Get("Authorization") == "" {
		writeEKSError(w, reqID, errSender(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"))
		return
	}
	caller, sc, serr := e.sts.verifyHeader(r, body, "eks")
	defer e.enter(eksKey(caller.Account, sc.region))()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if serr == nil {
		serr = e.admit(caller, sc.region, op)
	}
	if serr == nil {
		e.mu.Lock()
		if e.throttled() {
			serr = errSender(http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded")
		}
		e.mu.Unlock()
	}
	if serr == nil {
		switch op {
		case "ListClusters":
			serr = e.listClusters(w, reqID, caller.Account, sc.region, r)
		case "DescribeCluster":
			serr = e.describeCluster(w, reqID, caller.Account, sc.region, name)
		case "":
			serr = errSender(http.StatusNotFound, "UnknownOperationException", "%s %s", r.Method, r.URL.Path)
		default:
			serr = e.serveAccess(w, reqID, caller, sc.region, op, params, body, r.URL.Query())
		}
	}
	if serr != nil {
		e.sts.logf("ekstest: %s %s region=%s -> %d %s", op, name, sc.region, serr.status, serr)
		writeEKSError(w, reqID, serr)
		return
	}
	e.sts.logf("ekstest: %s %s region=%s caller=%s -> 200", op, name, sc.region, caller.ARN)
}

// admit applies region enablement and the deny list.
func (e *EKS) admit(caller Identity, region, op string) *stsError {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.disabled[eksKey(caller.Account, region)] {
		return errSender(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid")
	}
	if e.denied[caller.ARN] || e.denied[caller.ARN+"/"+region] {
		return errSender(http.StatusForbidden, "AccessDeniedException", "User: %s is not authorized to perform: eks:%s on resource: arn:aws:eks:%s:%s:cluster/*",
			caller.ARN, op, region, caller.Account)
	}
	return nil
}

func (e *EKS) listClusters(w http.ResponseWriter, reqID, account, region string, r *http.Request) *stsError {
	q := r.URL.Query()
	size := eksMaxResults
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > eksMaxResults {
			return errSender(http.StatusBadRequest, "InvalidParameterException", "maxResults must be between 1 and 100")
		}
		size = n
	}
	start := 0
	if t := q.Get("nextToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		n, aerr := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || aerr != nil || n < 0 {
			return errSender(http.StatusBadRequest, "InvalidParameterException", "The nextToken is invalid")
		}
		start = n
	}
	e.mu.Lock()
	var names []string
	for _, c := range e.clusters[eksKey(account, region)] {
		names = append(names, c.Name)
	}
	e.mu.Unlock()
	slices.Sort(names)
	start = min(start, len(names))
	end := min(start+size, len(names))
	res := map[string]any{"clusters": append([]string{}, names[start:end]...)}
	if end < len(names) {
		res["nextToken"] = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	writeEKSJSON(w, reqID, res)
	return nil
}

func (e *EKS) describeCluster(w http.ResponseWriter, reqID, account, region, name string) *stsError {
	e.mu.Lock()
	var found *EKSCluster
	for _, c := range e.clusters[eksKey(account, region)] {
		if c.Name == name {
			found = &c
			break
		}
	}
	e.mu.Unlock()
	if found == nil {
		return errSender(http.StatusNotFound, "ResourceNotFoundException", "No cluster found for name: %s.", name)
	}
	c := map[string]any{
		"name":                 found.Name,
		"arn":                  found.ARN(),
		"createdAt":            1767225600.0,
		"version":              found.Version,
		"endpoint":             found.Endpoint,
		"roleArn":              "arn:aws:iam::" + found.Account + ":role/eks-cluster-role",
		"status":               found.Status,
		"certificateAuthority": map[string]string{"data": found.CAData},
		"platformVersion":      "eks.1",
		"accessConfig":         map[string]string{"authenticationMode": found.AuthenticationMode},
	}
	if found.Status == "CREATING" {
		// EKS has no endpoint or CA for a cluster before it is up.
		delete(c, "endpoint")
		c["certificateAuthority"] = map[string]string{}
	}
	if found.ID != "" {
		c["id"] = found.ID
	}
	if found.Outpost != nil {
		c["outpostConfig"] = found.Outpost
	}
	writeEKSJSON(w, reqID, map[string]any{"cluster": c})
	return nil
}

func writeEKSJSON(w http.ResponseWriter, reqID string, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", reqID)
	_ = json.NewEncoder(w).Encode(v)
}

// writeEKSError answers an error the way REST-JSON services do: the code in
// X-Amzn-ErrorType, the message in the body.
func writeEKSError(w http.ResponseWriter, reqID string, e *stsError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": e.message})
}
