package storage

import "github.com/meridian-kv/meridian/storage/hlc"

// CopyKey makes s hold a deep copy of src's object for key in db (or no
// object, if src has none). Overlays use it to stage effects on top of an
// applied store without touching it.
func (s *Store) CopyKey(src *Store, db int, key string) {
	d := &s.dbs[db]
	if o := src.dbs[db].keys[key]; o != nil {
		c := o.Clone()
		c.epoch = s.epoch.Load() // new in s (see Store.writable)
		c.gen = 0
		c.inExpires = false
		c.tombN, c.tombB = 0, 0
		if _, had := d.keys[key]; !had {
			d.scan.Set(scanEntry{scanHash(key), key})
		}
		if old := d.keys[key]; old != nil {
			if old.Live() {
				d.live--
			}
			s.account(old, key, true)
			s.unindexTTL(db, key, old)
		}
		d.keys[key] = c
		s.account(c, key, false)
		s.reindexTTL(db, key, hlc.Timestamp{}, c)
		if c.Live() {
			d.live++
			if c.TTL.At != 0 {
				d.expires[key] = c.TTL.At
				c.inExpires = true
			}
		}
		return
	}
	s.Forget(db, key)
}

// Forget drops key from db entirely, tombstones included. Only overlays
// use it, to let go of keys whose staged effects have been applied.
func (s *Store) Forget(db int, key string) {
	d := &s.dbs[db]
	if o := d.keys[key]; o != nil {
		if o.Live() {
			d.live--
		}
		s.account(o, key, true)
		s.unindexTTL(db, key, o)
		delete(d.keys, key)
		delete(d.expires, key)
		d.scan.Delete(scanEntry{scanHash(key), key})
	}
}
