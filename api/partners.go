package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"phoned/auth"
	"phoned/crm"
	"phoned/queue"
	"phoned/store"
)

// maxCSVBody bounds a partner import (100,000 rows of ordinary partners fit).
const maxCSVBody = 32 << 20

func (s *Server) listPartners(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	q := r.URL.Query()
	f := store.PartnerFilter{Query: strings.TrimSpace(q.Get("q")), Tag: strings.TrimSpace(q.Get("tag"))}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "offset")
	if err != nil {
		return err
	}
	f.Limit, f.Offset = int(limit), int(offset)
	if phone, ok := q["phone"]; ok {
		f.E164 = crm.LookupForms(strings.Join(phone, ""), s.cfg.Region)
		if len(f.E164) == 0 {
			return badRequest("phone", "phone: %q is not a phone number", strings.Join(phone, ""))
		}
	}
	ps, err := s.st.Partners(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ps)
	return nil
}

// partnerWithNext is a partner as GET /api/partners/{id} shows it: with
// its next call window that ends after now (queue.NextWindowWithin ahead;
// null when none), as instants in the requester's zone.
type partnerWithNext struct {
	*crm.Partner
	NextWindow *crm.Span `json:"next_window"`
}

func (s *Server) getPartner(w http.ResponseWriter, r *http.Request, pr auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.st.Partner(r.Context(), id)
	if err != nil {
		return storeError(err, "partner")
	}
	out := partnerWithNext{Partner: p}
	if next, ok := p.Schedule(s.cfg.DefaultZone).Next(s.cfg.Now(), queue.NextWindowWithin); ok {
		next = next.In(s.zoneOf(pr.User))
		out.NextWindow = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// partnerBody is a partner as clients send it. The windows are decoded one
// by one so that an error names its index ("call_windows[2].to").
type partnerBody struct {
	ID          int64             `json:"id"`
	Name        string            `json:"name"`
	Company     string            `json:"company"`
	TZ          string            `json:"tz"`
	Tags        []string          `json:"tags"`
	Phones      []crm.Phone       `json:"phones"`
	CallWindows []json.RawMessage `json:"call_windows"`
}

// readPartner decodes and normalises a partner from the body.
func (s *Server) readPartner(w http.ResponseWriter, r *http.Request) (*crm.Partner, error) {
	var b partnerBody
	if err := decode(w, r, &b); err != nil {
		return nil, err
	}
	p := crm.Partner{ID: b.ID, Name: b.Name, Company: b.Company, TZ: b.TZ, Tags: b.Tags, Phones: b.Phones}
	for i, raw := range b.CallWindows {
		var cw crm.Window
		if err := json.Unmarshal(raw, &cw); err != nil {
			field := fmt.Sprintf("call_windows[%d]", i)
			var fe *crm.FieldError
			if errors.As(err, &fe) {
				if fe.Field != "" {
					field += "." + fe.Field
				}
				return nil, badRequest(field, "%s: %s", field, fe.Message)
			}
			return nil, badRequest(field, "%s: %v", field, err)
		}
		p.Windows = append(p.Windows, cw)
	}
	if err := p.Normalize(s.cfg.Region); err != nil {
		return nil, fieldError(err)
	}
	return &p, nil
}

// fieldError turns a *crm.FieldError into a 400 naming its field.
func fieldError(err error) error {
	var fe *crm.FieldError
	if errors.As(err, &fe) {
		return badRequest(fe.Field, "%s", fe.Error())
	}
	return badRequest("", "%v", err)
}

func (s *Server) createPartner(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	p, err := s.readPartner(w, r)
	if err != nil {
		return err
	}
	p.ID = 0
	if err := s.st.CreatePartners(r.Context(), []*crm.Partner{p}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) putPartner(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.readPartner(w, r)
	if err != nil {
		return err
	}
	if p.ID != 0 && p.ID != id {
		return badRequest("id", "id %d in the body differs from %d in the path", p.ID, id)
	}
	p.ID = id
	if err := s.st.UpdatePartner(r.Context(), p); err != nil {
		return storeError(err, "partner")
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) deletePartner(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.st.DeletePartner(r.Context(), id); err != nil {
		return storeError(err, "partner")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// importPartners takes a CSV file (as the body, or as the "file" part of a
// multipart form) and stores all its partners, or none with every bad row
// reported.
func (s *Server) importPartners(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxCSVBody)
	body, err := csvBody(r)
	if err != nil {
		return err
	}
	ps, err := crm.ParseCSV(body, s.cfg.Region)
	var mbe *http.MaxBytesError
	var ie *crm.ImportError
	switch {
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("CSV file is larger than %d bytes", mbe.Limit)}
	case errors.As(err, &ie):
		return &Error{Status: http.StatusBadRequest, Message: "nothing imported: " + ie.Error(), Extra: map[string]any{"rows": ie.Rows}}
	case err != nil:
		return badRequest("", "nothing imported: %v", err)
	}
	ptrs := make([]*crm.Partner, len(ps))
	for i := range ps {
		ptrs[i] = &ps[i]
	}
	if err := s.st.CreatePartners(r.Context(), ptrs); err != nil {
		return err
	}
	ids := make([]int64, len(ps))
	for i := range ps {
		ids[i] = ps[i].ID
	}
	s.log.Info("partners imported", "count", len(ps), "by", who(p))
	writeJSON(w, http.StatusCreated, map[string]any{"imported": len(ps), "ids": ids})
	return nil
}

func csvBody(r *http.Request) (io.Reader, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return r.Body, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("content type %q cannot be read", ct)}
	}
	switch mt {
	case "text/csv", "text/plain", "application/csv", "application/octet-stream":
		return r.Body, nil
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, badRequest("", "malformed multipart body: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, badRequest("file", "the form has no \"file\" part")
			}
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("CSV file is larger than %d bytes", mbe.Limit)}
			}
			if err != nil {
				return nil, badRequest("", "malformed multipart body: %v", err)
			}
			if part.FormName() == "file" {
				return part, nil
			}
		}
	}
	return nil, &Error{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("content type %q is not CSV (send text/csv or a multipart form with a \"file\" part)", ct)}
}

// who names a principal for the log.
func who(p auth.Principal) string {
	if p.User != nil {
		return p.User.Login
	}
	return fmt.Sprintf("token %d", p.TokenID)
}
