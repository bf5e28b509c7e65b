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
        let w = warn(&spec("{}", &format!(r#"{{"DB":"{value}"}}"#)));
        assert_eq!(w.len(), 1, "{value}: {w:?}");
        assert!(w[0].starts_with("apps.web.env.DB: "), "{w:?}");
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
}

#[test]
fn the_blocking_side_is_named() {
    // `cache` admits everyone (profile none), so only web's egress blocks.
    let w = warn(&spec("{}", r#"{"C":"cache.other.svc:6379"}"#));
    assert!(w[0].ends_with("but the egress of `web` does not allow it"), "{w:?}");
    let open = spec(r#"{"profile":"none"}"#, r#"{"DB":"db.site.svc"}"#);
    assert!(warn(&open)[0].ends_with("but the ingress of `db` does not admit `web`"));
}
