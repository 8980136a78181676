//! Property tests over releases: every plan ends at its target, no hop
//! breaks a rule, and no plan is longer than the rule graph requires.

use std::collections::{BTreeSet, HashMap, VecDeque};

use phoneflip_device::Model;
use phoneflip_firmware::{Protocol, Release, Version};
use phoneflip_plan::{
    check_hop, plan, Catalogue, Edit, Endpoint, Mechanism, Plan, PlanError, RuleId, Stop, MAX_HOPS,
};
use proptest::prelude::*;

const INTERESTING: &[&str] = &[
    "sip:1.0",
    "sip:2.1",
    "sip:2.2",
    "sip:2.3",
    "sip:3.0",
    "sip:3.1",
    "sip:4.4",
    "sip:5.0",
    "sip:5.2",
    "sip:6.3",
    "sip:7.1",
    "sip:7.4",
    "sip:8.12",
    "sccp:3.3",
    "sccp:3.2(2)",
    "sccp:4.1(2)",
    "sccp:5.0(1.1)",
    "sccp:6.0(2)",
    "sccp:6.0(3)",
    "sccp:7.2(3)",
    "sccp:8.0(4)",
    "sccp:8.1(2)SR2",
    "mgcp:5.0(1)",
    "mgcp:7.1(0)",
    "mgcp:8.0(1)",
];

const ROOT_FILES: &[&str] = &[
    "P00304010200.bin",
    "P00304020100.bin",
    "P00305000101.bin",
    "POS30203.bin",
    "POS30201.bin",
    "P00306000300.bin",
    "P00306000300.loads",
    "P0030801SR02.loads",
    "P0030801SR02.sb2",
    "P0S3-8-12-00.loads",
    "P0S3-8-12-00.sb2",
    "P003-8-12-00.sbn",
    "SIPDefault.cnf",
    "OS79XX.TXT",
];

fn release() -> impl Strategy<Value = Release> {
    let known = proptest::sample::select(INTERESTING).prop_map(|s| s.parse::<Release>().unwrap());
    let any = (
        prop_oneof![
            Just(Protocol::Sip),
            Just(Protocol::Sccp),
            Just(Protocol::Mgcp)
        ],
        1u8..10,
        0u8..13,
        0u8..6,
    )
        .prop_map(|(p, major, minor, maint)| {
            let v = Version::new(major, minor);
            let v = match p {
                Protocol::Sip if major < 3 || maint == 0 => v,
                _ => v.with_maint(maint),
            };
            Release::new(p, v)
        });
    prop_oneof![3 => known, 1 => any]
}

fn catalogue() -> impl Strategy<Value = Catalogue> {
    prop_oneof![
        Just(Catalogue::builtin()),
        proptest::sample::subsequence(ROOT_FILES, 0..ROOT_FILES.len())
            .prop_map(Catalogue::from_file_names),
    ]
}

fn model() -> impl Strategy<Value = Option<Model>> {
    prop_oneof![
        Just(None),
        Just(Some(Model::Cp7940)),
        Just(Some(Model::Cp7960))
    ]
}

/// The release a stop stands for (`sccp:4.x`, the unknown latest 4.x, is
/// taken as 4.0: every rule treats the whole 4.x train alike).
fn rel(s: &Stop) -> Release {
    s.release.replace(".x", ".0").parse().unwrap()
}

/// Shortest hop count from `from` to `to` in the graph whose edges are the
/// hops `check_hop` allows, over every release the planner could use.
fn bfs(from: Release, to: Release, nodes: &BTreeSet<String>) -> Option<usize> {
    let nodes: Vec<Release> = nodes.iter().map(|s| s.parse().unwrap()).collect();
    let mut dist: HashMap<String, usize> = HashMap::new();
    let mut queue = VecDeque::new();
    dist.insert(from.to_string(), 0);
    queue.push_back(from);
    while let Some(cur) = queue.pop_front() {
        let d = dist[&cur.to_string()];
        if cur == to {
            return Some(d);
        }
        for n in &nodes {
            if !dist.contains_key(&n.to_string()) && check_hop(&cur, n).is_ok() {
                dist.insert(n.to_string(), d + 1);
                queue.push_back(*n);
            }
        }
    }
    None
}

fn graph_nodes(from: Release, to: Release, cat: &Catalogue, plan: &Plan) -> BTreeSet<String> {
    let mut nodes: BTreeSet<String> = INTERESTING.iter().map(|s| s.to_string()).collect();
    nodes.insert(from.to_string());
    nodes.insert(to.to_string());
    nodes.insert("sccp:4.0".into());
    for e in cat.entries() {
        nodes.insert(e.release.to_string());
    }
    for h in &plan.hops {
        nodes.insert(rel(&h.to).to_string());
    }
    nodes
}

fn check_plan(from: Release, to: Release, cat: &Catalogue, p: &Plan) -> Result<(), TestCaseError> {
    // Ends at the target, hops chained.
    prop_assert!(p.hops.len() <= MAX_HOPS);
    let mut at = p.from.clone();
    for h in &p.hops {
        prop_assert_eq!(&h.from, &at);
        at = h.to.clone();
    }
    if p.hops.is_empty() {
        // Two spellings of one load (3.3(0) and 3.3 are P00303030000):
        // nothing to do, the phone is there.
        prop_assert_eq!(&p.from.load, &p.to.load);
        prop_assert!(p.from.load.is_some());
        prop_assert_eq!(rel(&p.from), from);
        return Ok(());
    } else {
        prop_assert_eq!(&at, &p.to);
    }
    prop_assert_eq!(rel(&p.to), to);
    prop_assert_eq!(rel(&p.from), from);

    let mut reached_5 = from.version >= Version::new(5, 0);
    for (i, h) in p.hops.iter().enumerate() {
        let (hf, ht) = (rel(&h.from), rel(&h.to));
        prop_assert_eq!(h.step, i + 1);
        // No hop breaks the graph's rules.
        let allowed = check_hop(&hf, &ht);
        prop_assert!(allowed.is_ok(), "{} -> {}: {:?}", hf, ht, allowed);
        prop_assert_eq!(allowed.unwrap().mechanism, h.mechanism);
        // No downgrade below 5.0 once there, checked on versions directly.
        if reached_5 {
            prop_assert!(ht.version >= Version::new(5, 0), "{} after 5.0", ht);
        }
        reached_5 |= ht.version >= Version::new(5, 0);
        // Every intermediate hop is forced by a named rule that refuses
        // the direct hop to the target.
        if i + 1 < p.hops.len() {
            let forced = h.forced_by;
            prop_assert!(forced.is_some(), "unforced intermediate {}", ht);
            prop_assert_eq!(check_hop(&hf, &to).err().map(|r| r.rule), forced);
        } else {
            prop_assert_eq!(h.forced_by, None);
        }
        let os = h.control_files.iter().find(|c| c.file == "OS79XX.TXT");
        if let Some(os) = os {
            prop_assert_eq!(os.edit, Edit::WholeFile);
            prop_assert!(!os.content.ends_with(".bin"));
            prop_assert!(!os.content.is_empty());
            if h.to.load.is_some() {
                prop_assert!(
                    !os.content.contains(char::is_whitespace),
                    "{:?}",
                    os.content
                );
                prop_assert!(
                    h.files.contains(&format!("{}.bin", os.content)),
                    "OS79XX.TXT names {} but the files are {:?}",
                    os.content,
                    h.files
                );
            }
        }
        // A phone on an original-boot load is always told via OS79XX.TXT
        // (except for the gkdefault revert).
        if h.mechanism == Mechanism::OriginalBoot {
            prop_assert!(os.is_some());
        }
        let sip2 = |r: &Release| r.protocol == Protocol::Sip && r.version.major == 2;
        // W210: SIPDefault.cnf is exactly one image_version line while SIP 2.x runs.
        if h.mechanism != Mechanism::Gkdefault && (sip2(&hf) || sip2(&ht)) {
            let sd = h.control_files.iter().find(|c| c.file == "SIPDefault.cnf");
            prop_assert!(sd.is_some());
            let sd = sd.unwrap();
            prop_assert_eq!(sd.edit, Edit::WholeFile);
            prop_assert!(sd.content.starts_with("image_version: "));
            prop_assert!(sd.content.ends_with('\n'));
            prop_assert_eq!(sd.content.lines().count(), 1);
            prop_assert!(h.rules.contains(&RuleId::W210MinimalSipDefault));
        }
        // 8.3: SIP 2.1 and earlier only fetch 8.3 names.
        if hf.protocol == Protocol::Sip
            && hf.version < Version::new(2, 2)
            && h.to.load.is_some()
            && h.mechanism != Mechanism::Gkdefault
        {
            let name = &os.unwrap().content;
            prop_assert!(name.len() <= 8 && name.is_ascii(), "{} is not 8.3", name);
        }
        // The model picks the loadInformation line.
        for c in &h.control_files {
            if c.file == "XMLDefault.cnf.xml" {
                let lines = c.content.lines().count();
                prop_assert_eq!(lines, if p.model.is_some() { 1 } else { 2 });
            }
        }
        prop_assert!(!h.section.is_empty());
        prop_assert!(!h.reset.how.is_empty());
    }
    // No plan is longer than needed: BFS over the rule graph.
    let shortest = bfs(from, to, &graph_nodes(from, to, cat, p));
    prop_assert_eq!(shortest, Some(p.hops.len()));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn plans_end_at_target_break_no_rule_and_are_shortest(
        from in release(), to in release(), cat in catalogue(), model in model()
    ) {
        match plan(Endpoint::Release(from), Endpoint::Release(to), model, &cat) {
            Ok(p) => {
                prop_assert!(!(from.version >= Version::new(5, 0) && to.version < Version::new(5, 0)));
                check_plan(from, to, &cat, &p)?;
                // JSON always serialises.
                let json = serde_json::to_value(&p).unwrap();
                prop_assert_eq!(json["schema"].as_u64(), Some(1));
            }
            Err(PlanError::Forbidden { rule, nearest, .. }) => {
                prop_assert_eq!(rule, RuleId::NoDowngradeBelow5);
                prop_assert!(from.version >= Version::new(5, 0) && to.version < Version::new(5, 0));
                prop_assert_eq!(nearest.protocol, to.protocol);
                // The closest reachable target really is reachable.
                let p = plan(Endpoint::Release(from), Endpoint::Release(nearest), model, &cat);
                prop_assert!(p.is_ok(), "{:?}", p.err());
            }
            Err(other) => prop_assert!(false, "{}", other),
        }
    }

    #[test]
    fn load_names_plan_like_their_release(from in release(), to in release()) {
        let cat = Catalogue::builtin();
        let by_release = plan(Endpoint::Release(from), Endpoint::Release(to), None, &cat);
        let load = |r: Release| {
            cat.find(&r).map(|e| e.load.clone()).unwrap_or_else(|| {
                phoneflip_firmware::LoadName::canonical(r.protocol, r.version)
            })
        };
        let by_load = plan(Endpoint::Load(load(from)), Endpoint::Load(load(to)), None, &cat);
        prop_assert_eq!(by_release.is_ok(), by_load.is_ok());
        if let (Ok(a), Ok(b)) = (by_release, by_load) {
            prop_assert_eq!(a.hops.len(), b.hops.len());
            prop_assert_eq!(a.to.load, b.to.load);
        }
    }
}

proptest! {
    #[test]
    fn any_input_plans_or_errors_without_panicking(
        fp in 0usize..3, tp in 0usize..3,
        a in any::<(u8, u8, Option<u8>, Option<u8>)>(),
        b in any::<(u8, u8, Option<u8>, Option<u8>)>(),
        from_text in "[a-zA-Z0-9:.()\\- ]{0,16}",
        files in proptest::collection::vec("[A-Z0-9a-z.\\-]{0,16}", 0..6),
    ) {
        let mk = |p: usize, (major, minor, maint, sr): (u8, u8, Option<u8>, Option<u8>)| {
            let mut v = Version::new(major, minor);
            v.maint = maint;
            v.sr = sr;
            Release::new(Protocol::ALL[p], v)
        };
        let cat = Catalogue::from_file_names(&files);
        let _ = plan(Endpoint::Release(mk(fp, a)), Endpoint::Release(mk(tp, b)), None, &cat);
        if let Ok(from) = from_text.parse::<Endpoint>() {
            if let Ok(p) = plan(from, Endpoint::Release(mk(tp, b)), None, &cat) {
                let _ = p.render_text();
            }
        }
    }
}
