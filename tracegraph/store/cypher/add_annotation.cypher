// A reviewer's note on one step, kept beside the graph (it survives re-imports).
CREATE (:Annotation {trace_id: $trace_id, step_id: $step_id, label: $label, note: $note,
                     author: $author, created_ns: $created_ns})
