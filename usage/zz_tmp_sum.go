package usage

// Sum adds replicas' usage (temporary: replaced by the layout branch's Sum).
func Sum(us ...Usage) Usage {
	var out Usage
	for _, u := range us {
		for i := range u.Value {
			if u.Have[i] {
				out.Value[i] += u.Value[i]
				out.Have[i] = true
			}
		}
	}
	return out
}
