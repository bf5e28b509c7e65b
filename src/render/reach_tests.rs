//! The warnings of `reach`, through the whole render.

fn warn(spec: &str) -> Vec<String> {
    let spec = crate::spec::parse(spec, "t").unwrap();
    let rendered = crate::render::render(&spec).unwrap();
    rendered.warnings.iter().map(|p| format!("{}: {}", p.path, p.message)).collect()
}

fn spec(client_np: &str, env: &str) -> String {
    format!(
        r#"{{"apiVersion":"nixflux/v1alpha1","apps":{{
          "web":{{"namespace":"site","image":"nix:0/nix/store/fh9rqg5b5v19bx5a99b6n3vzj0vyv2j1-nix-image-web.tar","port":8080,"env":{env},"networkPolicy":{client_np}}},
          "db":{{"namespace":"site","image":"nix:0/nix/store/fh9rqg5b5v19bx5a99b6n3vzj0vyv2j1-nix-image-db.tar","port":5432,"servicePort":5432,"networkPolicy":{{"profile":"backend"}}}},
          "cache":{{"namespace":"other","image":"nix:0/nix/store/fh9rqg5b5v19bx5a99b6n3vzj0vyv2j1-nix-image-db.tar","port":6379,"servicePort":6379,"networkPolicy":{{"profile":"none"}}}}}}}}"#
    )
}

#[test]
fn every_form_of_a_service_name_is_found() {
    for value in ["db.site.svc", "postgres://u@db.site.svc.cluster.local:5432/x", "db.site", "db:5432", "db"] {
        let w = warn(&spec("{}", &format!(r#"{{"DB_HOST":"{value}"}}"#)));
        assert_eq!(w.len(), 1, "{value}: {w:?}");
        assert!(w[0].starts_with("apps.web.env.DB_HOST: "), "{w:?}");
        assert!(w[0].contains("names the Service of app `db`"), "{w:?}");
    }
    let w = warn(&spec("{}", r#"{"DB":"db:5432"}"#));
    assert!(
        w[0].ends_with(
            "(port 5432, container port 5432/TCP), but neither the egress of `web` nor the ingress of `db` allows it"
        ),
        "{w:?}"
    );
}

#[test]
fn allowed_or_unrelated_names_do_not_warn() {
    let allowed = spec(r#"{"allowTo":[{"app":"db"}]}"#, r#"{"DB":"db.site.svc:5432"}"#);
    assert!(warn(&allowed).is_empty());
    // Not a reference: another namespace's short name, an unknown port, a word in a sentence.
    for value in ["cache:6379", "db.site.svc:9999", "the db is fine", "db.other.svc"] {
        assert!(warn(&spec("{}", &format!(r#"{{"X":"{value}"}}"#))).is_empty(), "{value}");
    }
    // A bare name is a Service only in a variable named like a host.
    for var in ["POSTGRES_DB", "DB", "HOSTS"] {
        assert!(warn(&spec("{}", &format!(r#"{{"{var}":"db"}}"#))).is_empty(), "{var}");
    }
    for var in ["DB_HOST", "PGHOST", "MQTT_SERVER", "db_addr", "REDIS_ADDRESS", "HOSTNAME"] {
        assert_eq!(warn(&spec("{}", &format!(r#"{{"{var}":"db"}}"#))).len(), 1, "{var}");
    }
}

#[test]
fn the_blocking_side_is_named() {
    // `cache` admits everyone (profile none), so only web's egress blocks.
    let w = warn(&spec("{}", r#"{"C":"cache.other.svc:6379"}"#));
    assert!(w[0].ends_with("but the egress of `web` does not allow it"), "{w:?}");
    let open = spec(r#"{"profile":"none"}"#, r#"{"DB":"db.site.svc"}"#);
    assert!(warn(&open)[0].ends_with("but the ingress of `db` does not admit `web`"));
}

/// `web` with `extra` fields; `db` admits `db_from`.
fn host_spec(extra: &str, db_from: &str) -> String {
    format!(
        r#"{{"apiVersion":"nixflux/v1alpha1","apps":{{
          "web":{{"namespace":"site","image":"nix:0/nix/store/fh9rqg5b5v19bx5a99b6n3vzj0vyv2j1-nix-image-web.tar","port":8080,{extra}}},
          "db":{{"namespace":"site","image":"nix:0/nix/store/fh9rqg5b5v19bx5a99b6n3vzj0vyv2j1-nix-image-db.tar","port":5432,"servicePort":5432,
                 "networkPolicy":{{"profile":"backend","allowFrom":{db_from}}}}}}}}}"#
    )
}

#[test]
fn a_host_network_client_is_its_node_address() {
    let env = r#""hostNetwork":true,"env":{"DB":"db:5432"}"#;
    // A pod selector never matches a pod on the host network; its own egress does not apply.
    let w = warn(&host_spec(env, r#"[{"app":"web"}]"#));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].ends_with("but the ingress of `db` does not admit `web`"), "{w:?}");
    let with_cidr = host_spec(env, r#"[{"cidr":"192.168.1.0/24","ports":["http"]}]"#);
    assert!(warn(&with_cidr).is_empty(), "{:?}", warn(&with_cidr));
    // Off the host network the address block is no pod.
    let pod = host_spec(r#""env":{"DB":"db:5432"}"#, r#"[{"cidr":"192.168.1.0/24"}]"#);
    assert_eq!(warn(&pod).len(), 1);
}

#[test]
fn init_containers_and_sidecars_are_read_too() {
    let extra = r#""initContainers":[{"name":"dump","image":"busybox@sha256:6affe87814efdd7f78fc77e85a3305b9cd6f4dedf8c50a2ea0e720684d25a24e","env":{"PGHOST":"db.site.svc"}}],
                   "sidecars":[{"name":"tail","image":"busybox@sha256:6affe87814efdd7f78fc77e85a3305b9cd6f4dedf8c50a2ea0e720684d25a24e","env":{"TO":"db:5432"}}]"#;
    let w = warn(&host_spec(extra, "[]"));
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].starts_with("apps.web.initContainers[0].env.PGHOST: "), "{w:?}");
    assert!(w[1].starts_with("apps.web.sidecars[0].env.TO: "), "{w:?}");
    assert!(warn(&host_spec(extra, r#"[{"app":"web"}]"#)).is_empty());
}
