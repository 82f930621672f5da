package ststest

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"time"
)

// IAM is a stand-in for the one IAM call kubeiam makes: GetRole, which
// turns a role name into its ARN with the path (access entries need the
// path; STS session ARNs drop it). It serves the roles of the STS Server it
// belongs to, in the caller's own account, as IAM does; requests are
// SigV4-checked for service "iam" (IAM is global: region us-east-1).
type IAM struct {
	sts *Server
}

// NewIAM returns an IAM stand-in over sts's roles.
func NewIAM(sts *Server) *IAM { return &IAM{sts: sts} }

const iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"

// ServeHTTP answers one IAM Query-protocol request.
func (m *IAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	params, err := requestParams(r, body)
	if err != nil {
		writeError(w, formatXML, reqID, errSender(http.StatusBadRequest, "MalformedQueryString", "%v", err))
		return
	}
	action := params.Get("Action")
	m.sts.mu.Lock()
	m.sts.counts["iam:"+action]++
	m.sts.mu.Unlock()
	if r.Header.Get("Authorization") == "" {
		writeError(w, formatXML, reqID, errSender(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token"))
		return
	}
	caller, _, serr := m.sts.verifyHeader(r, body, "iam")
	if serr == nil && action != "GetRole" {
		serr = errSender(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version 2010-05-08", action)
	}
	var role *Role
	if serr == nil {
		name := params.Get("RoleName")
		for _, ro := range m.sts.iamRoleList() {
			// IAM names are unique case-insensitively within an account.
			if ro.Account() == caller.Account && strings.EqualFold(ro.Name(), name) {
				role = &ro
				break
			}
		}
		if role == nil {
			serr = errSender(http.StatusNotFound, "NoSuchEntity", "The role with name %s cannot be found.", name)
		}
	}
	if serr != nil {
		m.sts.logf("iamtest: %s -> %d %s", action, serr.status, serr)
		writeError(w, formatXML, reqID, serr)
		return
	}
	res := arnField(role.ARN, 5)
	path := "/" + strings.TrimPrefix(res[:strings.LastIndex(res, "/")+1], "role/")
	type roleXML struct {
		Path, RoleName, RoleId, Arn, CreateDate, AssumeRolePolicyDocument string //nolint:revive // IAM field names
		MaxSessionDuration                                                int
	}
	type envelope struct {
		XMLName xml.Name `xml:"GetRoleResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Result  struct {
			Role roleXML
		} `xml:"GetRoleResult"`
		ResponseMetadata struct{ RequestId string } //nolint:revive // IAM field name
	}
	var env envelope
	env.Xmlns = iamNamespace
	env.Result.Role = roleXML{Path: path, RoleName: role.Name(), RoleId: role.RoleID, Arn: role.ARN,
		CreateDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339), AssumeRolePolicyDocument: "%7B%7D", MaxSessionDuration: 3600}
	env.ResponseMetadata.RequestId = reqID
	out, _ := xml.Marshal(env)
	m.sts.logf("iamtest: GetRole %s caller=%s -> 200", role.ARN, caller.ARN)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", reqID)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
