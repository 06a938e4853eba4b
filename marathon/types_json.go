package marathon

// Every definition type reads and writes itself the same way: decode the
// modelled members and keep the raw object; write the modelled members back
// over the raw object (see object.go). Go cannot give methods to a set of
// types at once, so each type has the same two one-line methods, below:
// UnmarshalJSON decodes the modelled members and keeps the others;
// MarshalJSON writes the modelled members over the kept ones.

// decodeInto zeroes *v, decodes b into its modelled members and keeps every
// member of b in *raw, which is v's own raw field.
func decodeInto[T any](v *T, raw *fields, b []byte) error {
	var zero T
	*v = zero
	kept, err := decodeObject(b, v)
	*raw = kept
	return err
}

func (a *App) UnmarshalJSON(b []byte) error { return decodeInto(a, &a.raw, b) }
func (a App) MarshalJSON() ([]byte, error)  { return encodeObject(&a, a.raw) }

func (c *Container) UnmarshalJSON(b []byte) error { return decodeInto(c, &c.raw, b) }
func (c Container) MarshalJSON() ([]byte, error)  { return encodeObject(&c, c.raw) }

func (d *Docker) UnmarshalJSON(b []byte) error { return decodeInto(d, &d.raw, b) }
func (d Docker) MarshalJSON() ([]byte, error)  { return encodeObject(&d, d.raw) }

func (p *PersistentVolumeInfo) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PersistentVolumeInfo) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (e *ExternalVolumeInfo) UnmarshalJSON(b []byte) error { return decodeInto(e, &e.raw, b) }
func (e ExternalVolumeInfo) MarshalJSON() ([]byte, error)  { return encodeObject(&e, e.raw) }

func (p *PortMapping) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PortMapping) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (p *PortDefinition) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PortDefinition) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (n *Network) UnmarshalJSON(b []byte) error { return decodeInto(n, &n.raw, b) }
func (n Network) MarshalJSON() ([]byte, error)  { return encodeObject(&n, n.raw) }

func (i *IPAddress) UnmarshalJSON(b []byte) error { return decodeInto(i, &i.raw, b) }
func (i IPAddress) MarshalJSON() ([]byte, error)  { return encodeObject(&i, i.raw) }

func (h *HealthCheck) UnmarshalJSON(b []byte) error { return decodeInto(h, &h.raw, b) }
func (h HealthCheck) MarshalJSON() ([]byte, error)  { return encodeObject(&h, h.raw) }

func (c *CommandCheck) UnmarshalJSON(b []byte) error { return decodeInto(c, &c.raw, b) }
func (c CommandCheck) MarshalJSON() ([]byte, error)  { return encodeObject(&c, c.raw) }

func (r *Residency) UnmarshalJSON(b []byte) error { return decodeInto(r, &r.raw, b) }
func (r Residency) MarshalJSON() ([]byte, error)  { return encodeObject(&r, r.raw) }

func (u *UpgradeStrategy) UnmarshalJSON(b []byte) error { return decodeInto(u, &u.raw, b) }
func (u UpgradeStrategy) MarshalJSON() ([]byte, error)  { return encodeObject(&u, u.raw) }

func (p *Pod) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p Pod) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (p *PodContainer) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PodContainer) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (p *PodExec) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PodExec) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (p *PodCommand) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PodCommand) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (r *Resources) UnmarshalJSON(b []byte) error { return decodeInto(r, &r.raw, b) }
func (r Resources) MarshalJSON() ([]byte, error)  { return encodeObject(&r, r.raw) }

func (e *Endpoint) UnmarshalJSON(b []byte) error { return decodeInto(e, &e.raw, b) }
func (e Endpoint) MarshalJSON() ([]byte, error)  { return encodeObject(&e, e.raw) }

func (i *Image) UnmarshalJSON(b []byte) error { return decodeInto(i, &i.raw, b) }
func (i Image) MarshalJSON() ([]byte, error)  { return encodeObject(&i, i.raw) }

func (p *PodHealthCheck) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PodHealthCheck) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (e *EndpointCheck) UnmarshalJSON(b []byte) error { return decodeInto(e, &e.raw, b) }
func (e EndpointCheck) MarshalJSON() ([]byte, error)  { return encodeObject(&e, e.raw) }

func (l *Lifecycle) UnmarshalJSON(b []byte) error { return decodeInto(l, &l.raw, b) }
func (l Lifecycle) MarshalJSON() ([]byte, error)  { return encodeObject(&l, l.raw) }

func (v *VolumeMount) UnmarshalJSON(b []byte) error { return decodeInto(v, &v.raw, b) }
func (v VolumeMount) MarshalJSON() ([]byte, error)  { return encodeObject(&v, v.raw) }

func (p *PodVolume) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PodVolume) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (p *PodScaling) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PodScaling) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (p *PodScheduling) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PodScheduling) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (p *PodBackoff) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PodBackoff) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (p *PodPlacement) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PodPlacement) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }

func (p *PodConstraint) UnmarshalJSON(b []byte) error { return decodeInto(p, &p.raw, b) }
func (p PodConstraint) MarshalJSON() ([]byte, error)  { return encodeObject(&p, p.raw) }
