package decode

type capture struct {
	path   string
	format Format
}

// captures lists the real responses in the fixtures folder, with their format.
func captures() []capture {
	return []capture{
		{"kubelet-summary/nri-1.31/stats_summary.json", FormatSummary},
		{"kubelet-summary/gke-2017-beats.json", FormatSummary},
		{"metrics-api/gke-2021-pods.json", FormatMetricsAPIPods},
		{"metrics-api/gke-2021-nodes.json", FormatMetricsAPINodes},
	}
}

const vectorsPath = "metrics-resource/decode-and-rate-vectors.json"
