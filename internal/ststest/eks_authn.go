package ststest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
)

// Authenticator answers TokenReviews for one cluster the way EKS decides
// who a caller is: the token's presigned GetCallerIdentity is asked of the
// STS stand-in (with x-k8s-aws-id: cluster, as the server sends it); the
// caller's IAM principal is looked up in the cluster's access entries
// (roles by account and name, as a role name is unique in its account);
// an entry wins. A miss is passed to next — in e2e the real
// aws-iam-authenticator serving aws-auth — unless the mode is API, where
// the caller is refused. EKS's own authenticator is not something a test
// can run; this is the part of it the access entries decide.
func (e *EKS) Authenticator(account, region, cluster string, next func(body []byte) ([]byte, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var review struct {
			APIVersion string `json:"apiVersion"`
			Spec       struct {
				Token string `json:"token"`
			} `json:"spec"`
		}
		_ = json.Unmarshal(body, &review)
		deny := func(why string) {
			writeReview(w, review.APIVersion, map[string]any{"authenticated": false, "error": why})
		}
		arn, userID, ok := e.callerOf(review.Spec.Token, cluster)
		if !ok {
			deny("token not accepted by STS")
			return
		}
		e.mu.Lock()
		c := e.cluster(account, region, cluster)
		if c == nil {
			e.mu.Unlock()
			deny("no such cluster")
			return
		}
		a := e.access(account, region, cluster)
		e.settle(c, a)
		mode := c.AuthenticationMode
		var found *AccessEntry
		if mode != ModeConfigMap {
			for _, ent := range a.entries {
				if samePrincipalARN(ent.PrincipalARN, arn) {
					cp := *ent
					found = &cp
					break
				}
			}
		}
		e.mu.Unlock()
		if found != nil {
			session := ""
			if i := strings.LastIndex(arn, "/"); strings.Contains(arn, ":assumed-role/") && i >= 0 {
				session = arn[i+1:]
			}
			name := strings.ReplaceAll(found.Username, "{{SessionName}}", strings.ReplaceAll(session, "@", "-"))
			name = strings.ReplaceAll(name, "{{SessionNameRaw}}", session)
			name = strings.ReplaceAll(name, "{{AccountID}}", arnField(arn, 4))
			groups := found.Groups
			if groups == nil {
				groups = []string{}
			}
			writeReview(w, review.APIVersion, map[string]any{"authenticated": true,
				"user": map[string]any{"username": name, "uid": "aws-iam-authenticator:" + arnField(arn, 4) + ":" + userID, "groups": groups}})
			return
		}
		if mode == ModeAPI || next == nil {
			deny("no access entry")
			return
		}
		out, err := next(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
}

func writeReview(w http.ResponseWriter, apiVersion string, status map[string]any) {
	if apiVersion == "" {
		apiVersion = "authentication.k8s.io/v1"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": apiVersion, "kind": "TokenReview", "status": status})
}

// callerOf asks the STS stand-in the token's presigned GetCallerIdentity.
func (e *EKS) callerOf(tok, cluster string) (arn, userID string, ok bool) {
	raw, found := strings.CutPrefix(tok, "k8s-aws-v1.")
	if !found {
		return "", "", false
	}
	u, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", "", false
	}
	req := httptest.NewRequest(http.MethodGet, string(u), nil)
	req.Header.Set("x-k8s-aws-id", cluster)
	rec := httptest.NewRecorder()
	e.sts.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return "", "", false
	}
	var res struct {
		Result struct {
			Arn, UserId string //nolint:revive // STS field names
		} `xml:"GetCallerIdentityResult"`
	}
	if err := xml.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&res); err != nil {
		return "", "", false
	}
	return res.Result.Arn, res.Result.UserId, res.Result.Arn != ""
}

// samePrincipalARN says whether an entry's principal is the caller: a role
// (with any path) by account and name for a role session, a user by ARN.
func samePrincipalARN(entry, caller string) bool {
	if strings.EqualFold(entry, caller) {
		return true
	}
	res := arnField(caller, 5)
	role, ok := strings.CutPrefix(res, "assumed-role/")
	if !ok || arnField(caller, 2) != "sts" {
		return false
	}
	name, _, _ := strings.Cut(role, "/")
	eres := arnField(entry, 5)
	return arnField(entry, 4) == arnField(caller, 4) && strings.HasPrefix(eres, "role/") && strings.EqualFold(eres[strings.LastIndex(eres, "/")+1:], name)
}
