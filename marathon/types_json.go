package marathon

// Code below is the same two methods for every definition type: decode the
// modelled members and keep the raw object; write the modelled members back
// over the raw object. See object.go.

// UnmarshalJSON decodes the modelled members and keeps the others.
func (a *App) UnmarshalJSON(b []byte) (err error) {
	*a = App{}
	a.raw, err = decodeObject(b, a)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (a App) MarshalJSON() ([]byte, error) { return encodeObject(&a, a.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (c *Container) UnmarshalJSON(b []byte) (err error) {
	*c = Container{}
	c.raw, err = decodeObject(b, c)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (c Container) MarshalJSON() ([]byte, error) { return encodeObject(&c, c.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (d *Docker) UnmarshalJSON(b []byte) (err error) {
	*d = Docker{}
	d.raw, err = decodeObject(b, d)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (d Docker) MarshalJSON() ([]byte, error) { return encodeObject(&d, d.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PersistentVolumeInfo) UnmarshalJSON(b []byte) (err error) {
	*p = PersistentVolumeInfo{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PersistentVolumeInfo) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PortMapping) UnmarshalJSON(b []byte) (err error) {
	*p = PortMapping{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PortMapping) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PortDefinition) UnmarshalJSON(b []byte) (err error) {
	*p = PortDefinition{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PortDefinition) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (n *Network) UnmarshalJSON(b []byte) (err error) {
	*n = Network{}
	n.raw, err = decodeObject(b, n)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (n Network) MarshalJSON() ([]byte, error) { return encodeObject(&n, n.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (i *IPAddress) UnmarshalJSON(b []byte) (err error) {
	*i = IPAddress{}
	i.raw, err = decodeObject(b, i)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (i IPAddress) MarshalJSON() ([]byte, error) { return encodeObject(&i, i.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (h *HealthCheck) UnmarshalJSON(b []byte) (err error) {
	*h = HealthCheck{}
	h.raw, err = decodeObject(b, h)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (h HealthCheck) MarshalJSON() ([]byte, error) { return encodeObject(&h, h.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (c *CommandCheck) UnmarshalJSON(b []byte) (err error) {
	*c = CommandCheck{}
	c.raw, err = decodeObject(b, c)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (c CommandCheck) MarshalJSON() ([]byte, error) { return encodeObject(&c, c.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (r *Residency) UnmarshalJSON(b []byte) (err error) {
	*r = Residency{}
	r.raw, err = decodeObject(b, r)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (r Residency) MarshalJSON() ([]byte, error) { return encodeObject(&r, r.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (u *UpgradeStrategy) UnmarshalJSON(b []byte) (err error) {
	*u = UpgradeStrategy{}
	u.raw, err = decodeObject(b, u)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (u UpgradeStrategy) MarshalJSON() ([]byte, error) { return encodeObject(&u, u.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *Pod) UnmarshalJSON(b []byte) (err error) {
	*p = Pod{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p Pod) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PodContainer) UnmarshalJSON(b []byte) (err error) {
	*p = PodContainer{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PodContainer) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PodExec) UnmarshalJSON(b []byte) (err error) {
	*p = PodExec{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PodExec) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PodCommand) UnmarshalJSON(b []byte) (err error) {
	*p = PodCommand{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PodCommand) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (r *Resources) UnmarshalJSON(b []byte) (err error) {
	*r = Resources{}
	r.raw, err = decodeObject(b, r)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (r Resources) MarshalJSON() ([]byte, error) { return encodeObject(&r, r.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (e *Endpoint) UnmarshalJSON(b []byte) (err error) {
	*e = Endpoint{}
	e.raw, err = decodeObject(b, e)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (e Endpoint) MarshalJSON() ([]byte, error) { return encodeObject(&e, e.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (i *Image) UnmarshalJSON(b []byte) (err error) {
	*i = Image{}
	i.raw, err = decodeObject(b, i)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (i Image) MarshalJSON() ([]byte, error) { return encodeObject(&i, i.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PodHealthCheck) UnmarshalJSON(b []byte) (err error) {
	*p = PodHealthCheck{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PodHealthCheck) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (e *EndpointCheck) UnmarshalJSON(b []byte) (err error) {
	*e = EndpointCheck{}
	e.raw, err = decodeObject(b, e)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (e EndpointCheck) MarshalJSON() ([]byte, error) { return encodeObject(&e, e.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (l *Lifecycle) UnmarshalJSON(b []byte) (err error) {
	*l = Lifecycle{}
	l.raw, err = decodeObject(b, l)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (l Lifecycle) MarshalJSON() ([]byte, error) { return encodeObject(&l, l.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (v *VolumeMount) UnmarshalJSON(b []byte) (err error) {
	*v = VolumeMount{}
	v.raw, err = decodeObject(b, v)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (v VolumeMount) MarshalJSON() ([]byte, error) { return encodeObject(&v, v.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PodVolume) UnmarshalJSON(b []byte) (err error) {
	*p = PodVolume{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PodVolume) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PodScaling) UnmarshalJSON(b []byte) (err error) {
	*p = PodScaling{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PodScaling) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PodScheduling) UnmarshalJSON(b []byte) (err error) {
	*p = PodScheduling{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PodScheduling) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PodBackoff) UnmarshalJSON(b []byte) (err error) {
	*p = PodBackoff{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PodBackoff) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PodPlacement) UnmarshalJSON(b []byte) (err error) {
	*p = PodPlacement{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PodPlacement) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }

// UnmarshalJSON decodes the modelled members and keeps the others.
func (p *PodConstraint) UnmarshalJSON(b []byte) (err error) {
	*p = PodConstraint{}
	p.raw, err = decodeObject(b, p)
	return err
}

// MarshalJSON writes the modelled members over the kept ones.
func (p PodConstraint) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.raw) }
