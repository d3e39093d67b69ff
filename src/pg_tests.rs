//! `#[pg_test]`s: what touches PostgreSQL. Each runs in a transaction that is rolled back.
//! pgrx runs each as `tests.<name>()`, so they sit in a `#[pg_schema] mod tests`; that module
//! is inline because an attribute macro cannot take a module kept in its own file.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn count(sql: &str) -> i64 {
        Spi::get_one::<i64>(sql).expect("query runs").expect("a row")
    }

    fn capture(payload: &str) -> i64 {
        Spi::get_one_with_args::<i64>("SELECT llm_clusters.capture($1::jsonb)", &[payload.into()])
            .expect("capture runs")
            .expect("a count")
    }

    #[pg_test]
    fn capture_maps_typed_columns() {
        let stored = capture(
            r#"{"event": "$ai_generation", "distinct_id": "u1", "timestamp": "2026-11-20T10:00:00Z",
                "uuid": "0192f1a2-b3c4-d5e6-f708-192a3b4c5d6e",
                "properties": {"$ai_trace_id": 123, "$ai_model": "gpt-4o", "$ai_input_tokens": "10",
                               "$ai_output_tokens": 5, "$ai_total_cost_usd": "0.002", "$ai_latency": 1.25,
                               "$ai_input": [{"role": "user", "content": "hello"}],
                               "$ai_output_choices": [{"role": "assistant", "content": "hi"}]}}"#,
        );
        assert_eq!(stored, 1);
        let row = Spi::get_three::<String, i64, f64>(
            "SELECT trace_id, input_tokens + output_tokens, total_cost_usd FROM llm_clusters.events",
        )
        .unwrap();
        assert_eq!(row, (Some("123".into()), Some(15), Some(0.002)));
        let ts = Spi::get_one::<bool>(
            "SELECT \"timestamp\" = '2026-11-20T10:00:00Z'::timestamptz AND properties->>'$ai_model' = 'gpt-4o' FROM llm_clusters.events",
        )
        .unwrap();
        assert_eq!(ts, Some(true));
    }

    #[pg_test]
    fn capture_is_idempotent_by_uuid() {
        let ev = r#"[{"event": "$ai_span", "uuid": "11111111-1111-1111-1111-111111111111", "properties": {"$ai_trace_id": "t"}},
                     {"event": "$ai_span", "uuid": "11111111111111111111111111111111", "properties": {"$ai_trace_id": "t"}}]"#;
        assert_eq!(capture(ev), 1);
        assert_eq!(capture(ev), 0);
        assert_eq!(count("SELECT count(*) FROM llm_clusters.events"), 1);
    }

    #[pg_test]
    fn capture_is_all_or_nothing() {
        let bad = r#"{"batch": [{"event": "$ai_span", "properties": {"$ai_trace_id": "t"}},
                                {"event": "$ai_span", "properties": {}}]}"#;
        let result = PgTryBuilder::new(|| Some(capture(bad))).catch_others(|_| None).execute();
        assert_eq!(result, None);
        assert_eq!(count("SELECT count(*) FROM llm_clusters.events"), 0);
    }

    #[pg_test]
    fn binds_number_their_placeholders_in_push_order() {
        use crate::query::Binds;
        use llm_clusters_engine::filters::SqlParam;
        let mut binds = Binds::new();
        let (a, b) = (binds.push(41), binds.push("it's data, not SQL"));
        let c = binds.push_filter(SqlParam::TextArray(vec!["x".into(), "y".into()]));
        assert_eq!((a.as_str(), b.as_str(), c.as_str()), ("$1", "$2", "$3"));
        let sql = format!("SELECT {a} + 1 = 42 AND {b} = 'it''s data, not SQL' AND cardinality({c}::text[]) = 2");
        assert_eq!(Spi::get_one_with_args::<bool>(&sql, binds.args()), Ok(Some(true)));
    }

    #[pg_test(error = "unexpected NULL: runs.job_name")]
    fn a_null_where_none_can_be_is_an_error_not_a_default() {
        use crate::pg::Required;
        let name = Spi::get_one::<String>("SELECT NULL::text").expect("query runs");
        name.required("runs.job_name");
    }

    #[pg_test(error = "event 1: property \"$ai_trace_id\" is missing")]
    fn capture_names_the_bad_event() {
        capture(r#"[{"event": "$ai_span", "properties": {"$ai_trace_id": "t"}}, {"event": "$ai_span"}]"#);
    }

    #[pg_test]
    fn trace_items_aggregate_generations() {
        capture(
            r#"[{"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-000000000001", "timestamp": "2026-11-20T10:00:00Z",
                 "properties": {"$ai_trace_id": "t1", "$ai_total_cost_usd": 0.5, "$ai_latency": 1, "$ai_input_tokens": 3,
                                "$ai_input": "first question"}},
                {"event": "$ai_generation", "uuid": "00000000-0000-0000-0000-000000000002", "timestamp": "2026-11-20T10:01:00Z",
                 "properties": {"$ai_trace_id": "t1", "$ai_total_cost_usd": 0.25, "$ai_latency": 2, "$ai_is_error": true,
                                "$ai_input": "second question"}},
                {"event": "$ai_trace", "timestamp": "2026-11-20T10:02:00Z", "properties": {"$ai_trace_id": "t1", "$ai_latency": 9, "tag": "x"}}]"#,
        );
        Spi::run(
            "INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding) VALUES
               (1, 'generation', '00000000-0000-0000-0000-000000000001', '{3,0}'),
               (1, 'generation', '00000000-0000-0000-0000-000000000002', '{0,4}')",
        )
        .unwrap();
        let (cost, latency, tokens) = Spi::get_three::<f64, f64, i64>(
            "SELECT cost_usd, latency_s, tokens FROM llm_clusters.trace_items WHERE item_id = 't1'",
        )
        .unwrap();
        assert_eq!((cost, latency, tokens), (Some(0.75), Some(3.0), Some(3)));
        let (is_error, content) =
            Spi::get_two::<bool, String>("SELECT is_error, content FROM llm_clusters.trace_items WHERE item_id = 't1'")
                .unwrap();
        assert_eq!(is_error, Some(true));
        assert_eq!(content.as_deref(), Some("user: first question\nuser: second question"));
        let embedding = Spi::get_one::<Vec<f32>>("SELECT embedding FROM llm_clusters.trace_items WHERE item_id = 't1'")
            .unwrap()
            .unwrap();
        let half = std::f32::consts::FRAC_1_SQRT_2;
        assert!((embedding[0] - half).abs() < 1e-6 && (embedding[1] - half).abs() < 1e-6, "{embedding:?}");
        let tag = Spi::get_one::<String>("SELECT properties->>'tag' FROM llm_clusters.trace_items").unwrap();
        assert_eq!(tag.as_deref(), Some("x"));
        assert_eq!(count("SELECT count(*) FROM llm_clusters.generation_items WHERE embedding IS NOT NULL"), 2);
    }

    #[pg_test]
    fn run_job_finds_planted_clusters_and_fails_cleanly() {
        Spi::run(
            "SELECT llm_clusters.capture(jsonb_agg(jsonb_build_object('event', '$ai_generation',
                 'uuid', md5('t' || i)::uuid, 'timestamp', '2026-11-20T00:00:00Z',
                 'properties', jsonb_build_object('$ai_trace_id', 't' || i, '$ai_input', 'topic ' || (i % 4)))))
             FROM generate_series(0, 79) i;
             INSERT INTO llm_clusters.embeddings (team_id, level, item_id, embedding)
             SELECT 1, 'generation', md5('t' || i)::uuid::text,
                    ARRAY(SELECT CASE WHEN d = i % 4 THEN 1.0 ELSE 0.0 END + 0.03 * sin(i * 3 + d) FROM generate_series(0, 15) d)::real[]
             FROM generate_series(0, 79) i",
        )
        .unwrap();
        let job = Spi::get_one::<i32>("SELECT llm_clusters.create_job('t', level => 'generation')").unwrap().unwrap();
        let run = Spi::get_one_with_args::<i64>("SELECT llm_clusters.run_job($1, '2026-11-21')", &[job.into()])
            .unwrap()
            .unwrap();
        let (status, clusters) = Spi::get_two_with_args::<String, i32>(
            "SELECT status, n_clusters FROM llm_clusters.runs WHERE id = $1",
            &[run.into()],
        )
        .unwrap();
        assert_eq!((status.as_deref(), clusters), (Some("succeeded"), Some(4)));
        // A job whose items vanish mid-way is a failed run with no partial rows.
        Spi::run("CREATE VIEW broken AS SELECT * FROM llm_clusters.generation_items WHERE 1 / (team_id - 1) > 0")
            .unwrap();
        let bad = Spi::get_one::<i32>("SELECT llm_clusters.create_job('b', level => 'generation', source => 'broken')")
            .unwrap()
            .unwrap();
        let run = Spi::get_one_with_args::<i64>("SELECT llm_clusters.run_job($1, '2026-11-21')", &[bad.into()])
            .unwrap()
            .unwrap();
        let status =
            Spi::get_one_with_args::<String>("SELECT status FROM llm_clusters.runs WHERE id = $1", &[run.into()])
                .unwrap();
        assert_eq!(status.as_deref(), Some("failed"));
        assert_eq!(count(&format!("SELECT count(*) FROM llm_clusters.assignments WHERE run_id = {run}")), 0);
    }

    /// A pgvector value laid out as `dim` (int16), unused (int16), then `values` floats,
    /// with `claimed` as the dimension in its header.
    fn vector_datum(claimed: u16, values: &[f32]) -> pg_sys::Datum {
        let size = 8 + 4 * values.len();
        unsafe {
            let ptr = pg_sys::palloc0(size).cast::<u8>();
            pgrx::varlena::set_varsize_4b(ptr.cast(), size as i32);
            std::ptr::write_unaligned(ptr.add(4).cast::<u16>(), claimed);
            for (i, v) in values.iter().enumerate() {
                std::ptr::write_unaligned(ptr.add(8 + 4 * i).cast::<f32>(), *v);
            }
            pg_sys::Datum::from(ptr)
        }
    }

    #[pg_test]
    fn a_vector_whose_layout_does_not_add_up_is_rejected() {
        use crate::datum::{decode_embedding, Decoded};
        use llm_clusters_engine::source::EmbeddingKind;
        let mut out = Vec::new();
        assert_eq!(
            unsafe { decode_embedding(vector_datum(3, &[1.0, 2.0, 3.0]), EmbeddingKind::Vector, 16_000, &mut out) },
            Decoded::Values
        );
        assert_eq!(out, vec![1.0, 2.0, 3.0]);
        // Another version's layout (a header claiming more values than the datum holds).
        let mut out = Vec::new();
        assert_eq!(
            unsafe { decode_embedding(vector_datum(100, &[1.0, 2.0, 3.0]), EmbeddingKind::Vector, 16_000, &mut out) },
            Decoded::Unusable
        );
        assert!(out.is_empty());
    }

    /// A real[] longer than the read keeps is measured, not copied: a source's array may
    /// hold 1 GB, and the copy into Rust memory came before the length check.
    #[pg_test]
    fn an_embedding_over_the_limit_is_measured_not_copied() {
        use crate::datum::{decode_embedding, Decoded};
        use llm_clusters_engine::source::EmbeddingKind;
        Spi::connect(|client| {
            let mut table = client.select("SELECT pg_catalog.array_fill(0.5::real, ARRAY[16001])", None, &[])?;
            table.next();
            let datum = table.get_datum_by_ordinal(1)?.expect("an array");
            let mut out = Vec::new();
            assert_eq!(
                unsafe { decode_embedding(datum, EmbeddingKind::Real, 16_000, &mut out) },
                Decoded::TooLong(16_001)
            );
            assert!(out.is_empty());
            assert_eq!(unsafe { decode_embedding(datum, EmbeddingKind::Real, 16_001, &mut out) }, Decoded::Values);
            assert_eq!((out.len(), out[0]), (16_001, 0.5));
            Ok::<_, pgrx::spi::Error>(())
        })
        .unwrap();
    }
}
