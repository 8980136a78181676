//! One test per procedure and caveat of the reference: each checks the
//! hops and the exact content of every file the TFTP root must hold.

use phoneflip_device::Model;
use phoneflip_plan::{
    plan, Catalogue, ControlFile, Edit, Endpoint, Hop, Mechanism, Plan, PlanError, ResetMethod,
    RuleId, CFGFMT, LATEST_4_PLACEHOLDER,
};

fn e(s: &str) -> Endpoint {
    s.parse().unwrap_or_else(|err| panic!("{s}: {err}"))
}

fn p(from: &str, to: &str, model: Option<Model>) -> Plan {
    plan(e(from), e(to), model, &Catalogue::builtin()).unwrap_or_else(|err| panic!("{err}"))
}

/// (file, edit, content) of every control file, in order.
fn controls(h: &Hop) -> Vec<(&str, Edit, &str)> {
    h.control_files
        .iter()
        .map(|c: &ControlFile| (c.file.as_str(), c.edit, c.content.as_str()))
        .collect()
}

fn route(plan: &Plan) -> Vec<String> {
    std::iter::once(plan.from.release.clone())
        .chain(plan.hops.iter().map(|h| h.to.release.clone()))
        .collect()
}

const SIP_8_12_FILES: [&str; 4] = [
    "P0S3-8-12-00.loads",
    "P0S3-8-12-00.sb2",
    "P003-8-12-00.bin",
    "P003-8-12-00.sbn",
];

// --- Bootup Process for a Cisco 7940/7960 SIP IP Phone ---------------------

#[test]
fn sccp_3_to_sip_6_or_earlier_through_os79xx() {
    // The reference's example: OS79XX.TXT names POS30100, the phone loads
    // POS30100.bin, then SIPDefault.cnf and SIP<MAC>.cnf.
    let plan = p("sccp:3.3", "POS30100", Some(Model::Cp7960));
    assert_eq!(route(&plan), ["sccp:3.3", "sip:1.0"]);
    let h = &plan.hops[0];
    assert_eq!(h.mechanism, Mechanism::OriginalBoot);
    assert_eq!(
        h.section,
        "SCCP Image 3.x/Earlier to SIP Image 6.x/Earlier and from SCCP Image 5.x to SIP Image 5.x/6.x"
    );
    assert!(h.documented);
    assert_eq!(h.files, ["POS30100.bin"]);
    assert_eq!(
        controls(h),
        [
            ("OS79XX.TXT", Edit::WholeFile, "POS30100"),
            // Arriving on SIP 1.0: W210 covers SIP 2.x and earlier (issue
            // 10), so SIPDefault.cnf holds only image_version.
            (
                "SIPDefault.cnf",
                Edit::WholeFile,
                "image_version: POS30100\n"
            ),
            ("SIP<MAC>.cnf", Edit::SetLine, "image_version: POS30100"),
        ]
    );
    assert!(h.rules.contains(&RuleId::W210MinimalSipDefault));
    assert_eq!(h.reset.method, ResetMethod::CallManagerOrPowerCycle);
}

#[test]
fn sccp_5_to_sip_5_or_6_through_os79xx() {
    let plan = p("sccp:5.0(1.1)", "sip:6.3", None);
    assert_eq!(route(&plan), ["sccp:5.0(1.1)", "sip:6.3"]);
    let h = &plan.hops[0];
    assert_eq!(h.mechanism, Mechanism::OriginalBoot);
    assert_eq!(h.files, ["POS3-06-3-00.bin"]);
    assert_eq!(
        controls(h),
        [
            ("OS79XX.TXT", Edit::WholeFile, "POS3-06-3-00"),
            (
                "SIPDefault.cnf",
                Edit::SetLine,
                "image_version: POS3-06-3-00"
            ),
            ("SIP<MAC>.cnf", Edit::SetLine, "image_version: POS3-06-3-00"),
        ]
    );
    assert!(
        !h.rules.contains(&RuleId::NoDowngradeBelow5),
        "already above 5.0"
    );
}

#[test]
fn sccp_3_or_5_to_sip_7_through_image_version() {
    // The reference's example: SIPDefault.cnf holds image_version: POS3-07-1-00.
    for from in ["sccp:3.3", "sccp:5.0(1.1)"] {
        let plan = p(from, "sip:7.1", Some(Model::Cp7940));
        assert_eq!(plan.hops.len(), 1, "{from}");
        let h = &plan.hops[0];
        assert_eq!(h.mechanism, Mechanism::ConfigImage);
        assert_eq!(h.section, "SCCP Image 3.x/Earlier and 5.x to SIP Image 7.x");
        assert_eq!(
            h.files,
            [
                "POS3-07-1-00.loads",
                "POS3-07-1-00.sb2",
                "P003-07-1-00.bin",
                "P003-07-1-00.sbn"
            ]
        );
        assert_eq!(
            controls(h),
            [
                ("OS79XX.TXT", Edit::WholeFile, "P003-07-1-00"),
                (
                    "SIPDefault.cnf",
                    Edit::SetLine,
                    "image_version: POS3-07-1-00"
                ),
                ("SIP<MAC>.cnf", Edit::SetLine, "image_version: POS3-07-1-00"),
                ("SEP<MAC>.cnf.xml", Edit::Remove, ""),
            ]
        );
        assert_eq!(h.rules[0], RuleId::SipImageVersion);
    }
}

#[test]
fn sccp_6_to_sip_7_through_universal_loader() {
    let plan = p("sccp:8.1(2)SR2", "sip:8.12", Some(Model::Cp7960));
    assert_eq!(route(&plan), ["sccp:8.1(2)SR2", "sip:8.12"]);
    let h = &plan.hops[0];
    assert_eq!(h.mechanism, Mechanism::UniversalLoader);
    assert_eq!(h.section, "SCCP Image 6.x/Later and SIP Image 7.x/Later");
    assert_eq!(h.files, SIP_8_12_FILES);
    assert_eq!(
        controls(h),
        [
            ("OS79XX.TXT", Edit::WholeFile, "P003-8-12-00"),
            ("SIPDefault.cnf", Edit::SetLine, "image_version: P0S3-8-12-00"),
            ("SIP<MAC>.cnf", Edit::SetLine, "image_version: P0S3-8-12-00"),
            (
                "XMLDefault.cnf.xml",
                Edit::SetLine,
                "<loadInformation7 model=\"IP Phone 7960\">P0S3-8-12-00</loadInformation7>"
            ),
            (
                "SEP<MAC>.cnf.xml",
                Edit::WholeFile,
                "<device><deviceProtocol>SIP</deviceProtocol><loadInformation model=\"IP Phone 7960\">P0S3-8-12-00</loadInformation></device>"
            ),
        ]
    );
    assert!(h.reset.how.contains("two stages"));
}

#[test]
fn issue_example_sccp_3_3_to_sip_8_12() {
    let plan = p("sccp:3.3", "sip:8.12", Some(Model::Cp7960));
    assert_eq!(plan.hops.len(), 1);
    let h = &plan.hops[0];
    assert_eq!(h.files, SIP_8_12_FILES);
    assert_eq!(h.control_files[0].content, "P003-8-12-00");
    assert!(h.rules.contains(&RuleId::NoDowngradeBelow5));
    assert!(h
        .warnings
        .iter()
        .any(|w| w.contains("never return below 5.0")));
}

// --- Revert Back to a Cisco CallManager SCCP Image ------------------------

#[test]
fn sip_4_to_sccp_5_or_earlier_through_os79xx() {
    // The reference's example: 5.0(1.1) is P00305000101.bin; OS79XX.TXT
    // holds the name without .bin.
    let plan = p("sip:4.4", "sccp:5.0(1.1)", Some(Model::Cp7940));
    assert_eq!(route(&plan), ["sip:4.4", "sccp:5.0(1.1)"]);
    let h = &plan.hops[0];
    assert_eq!(h.mechanism, Mechanism::OriginalBoot);
    assert_eq!(
        h.section,
        "SIP Images 4.x/Earlier to SCCP Images 5.x/Earlier"
    );
    assert_eq!(h.files, ["P00305000101.bin"]);
    assert_eq!(
        controls(h),
        [
            ("OS79XX.TXT", Edit::WholeFile, "P00305000101"),
            (
                "SIPDefault.cnf",
                Edit::SetLine,
                "image_version: P00305000101"
            ),
            ("SIP<MAC>.cnf", Edit::SetLine, "image_version: P00305000101"),
            (
                "XMLDefault.cnf.xml",
                Edit::SetLine,
                "<loadInformation8 model=\"IP Phone 7940\">P00305000101</loadInformation8>"
            ),
            (
                "SEP<MAC>.cnf.xml",
                Edit::SetLine,
                "<loadInformation model=\"IP Phone 7940\">P00305000101</loadInformation>"
            ),
        ]
    );
    assert_eq!(h.reset.method, ResetMethod::CheckSyncOrPowerCycle);
}

#[test]
fn sip_4_to_sccp_6_or_later_passes_through_6_3() {
    let plan = p("sip:4.4", "sccp:8.1(2)SR2", None);
    assert_eq!(route(&plan), ["sip:4.4", "sccp:6.0(3)", "sccp:8.1(2)SR2"]);
    let (a, b) = (&plan.hops[0], &plan.hops[1]);
    assert_eq!(a.forced_by, Some(RuleId::ViaSccp63));
    assert_eq!(a.mechanism, Mechanism::OriginalBoot);
    assert_eq!(a.section, "SIP Images 4.x/Earlier to SCCP Images 6.x/Later");
    assert_eq!(a.to.load.as_deref(), Some("P00306000300"));
    assert_eq!(
        a.files,
        [
            "P00306000300.bin",
            "P00306000300.sbn",
            "P00306000300.loads",
            "P00306000300.sb2"
        ]
    );
    assert_eq!(
        controls(a),
        [
            ("OS79XX.TXT", Edit::WholeFile, "P00306000300"),
            ("SIPDefault.cnf", Edit::SetLine, "image_version: P00306000300"),
            ("SIP<MAC>.cnf", Edit::SetLine, "image_version: P00306000300"),
            (
                "XMLDefault.cnf.xml",
                Edit::SetLine,
                "<loadInformation8 model=\"IP Phone 7940\">P00306000300</loadInformation8>\n<loadInformation7 model=\"IP Phone 7960\">P00306000300</loadInformation7>"
            ),
            (
                "SEP<MAC>.cnf.xml",
                Edit::SetLine,
                "<loadInformation>P00306000300</loadInformation>"
            ),
        ]
    );
    assert_eq!(b.forced_by, None);
    assert_eq!(b.mechanism, Mechanism::UniversalLoader);
    assert_eq!(b.section, "SCCP Image 6.x/Later and SIP Image 7.x/Later");
    assert_eq!(
        controls(b),
        [
            (
                "XMLDefault.cnf.xml",
                Edit::SetLine,
                "<loadInformation8 model=\"IP Phone 7940\">P0030801SR02</loadInformation8>\n<loadInformation7 model=\"IP Phone 7960\">P0030801SR02</loadInformation7>"
            ),
            (
                "SEP<MAC>.cnf.xml",
                Edit::SetLine,
                "<loadInformation>P0030801SR02</loadInformation>"
            ),
        ]
    );
    assert_eq!(b.reset.method, ResetMethod::CallManagerOrPowerCycle);
    // Going to 6.0(3) itself is one hop.
    assert_eq!(p("sip:4.4", "sccp:6.0(3)", None).hops.len(), 1);
}

#[test]
fn sip_5_or_6_to_sccp_edits_gkdefault() {
    // The reference's example: 060412a → 051117a for cmterm-7940-7960-sccp.8-0-4.zip.
    for from in ["sip:5.0", "sip:6.3"] {
        let plan = p(from, "sccp:8.0(4)", Some(Model::Cp7960));
        assert_eq!(plan.hops.len(), 1, "{from}");
        let h = &plan.hops[0];
        assert_eq!(h.mechanism, Mechanism::Gkdefault);
        assert_eq!(h.section, "SIP Images 5.x,6.x to SCCP Images 5.x/Later");
        assert_eq!(
            h.files,
            [
                "gkdefault.cfg",
                "CP7940080001SCCP051117A.sbin",
                "P00308000400.bin",
                "P00308000400.sbn",
                "P00308000400.loads",
                "P00308000400.sb2"
            ]
        );
        assert_eq!(
            controls(h),
            [(
                "gkdefault.txt",
                Edit::SetLine,
                "upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x051117a,CP7940080001SCCP051117A.sbin"
            )]
        );
        assert_eq!(h.commands, [CFGFMT]);
        assert_eq!(CFGFMT, "cfgfmt -tsip_ptag.dat gkdefault.txt gkdefault.cfg");
    }
}

#[test]
fn gkdefault_without_a_known_code_says_what_is_needed() {
    let unknown = p("sip:6.3", "sccp:8.1(2)SR2", None);
    let h = &unknown.hops[0];
    assert_eq!(h.mechanism, Mechanism::Gkdefault);
    assert!(h.control_files[0].content.contains("0x<code>"));
    assert!(h
        .warnings
        .iter()
        .any(|w| w.contains("gkdefault version code of sccp:8.1(2)SR2")));
    // With the code recorded in the catalogue the line is complete.
    let cat = Catalogue::builtin().with_gk_code(
        &"sccp:8.1(2)SR2".parse().unwrap(),
        "0x070920a".parse().unwrap(),
    );
    let known = plan(e("sip:6.3"), e("sccp:8.1(2)SR2"), None, &cat).unwrap();
    assert_eq!(
        known.hops[0].control_files[0].content,
        "upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x070920a,CP7940080001SCCP070920A.sbin"
    );
}

#[test]
fn sip_7_to_sccp_through_image_version() {
    // The reference's example: image_version names the SCCP image P00306000200.
    let plan = p("sip:7.4", "P00306000200", Some(Model::Cp7960));
    assert_eq!(route(&plan), ["sip:7.4", "sccp:6.0(2)"]);
    let h = &plan.hops[0];
    assert_eq!(h.mechanism, Mechanism::ConfigImage);
    assert_eq!(h.section, "SIP Images 7.x/Later to SCCP Images 5.x/Later");
    assert_eq!(
        controls(h),
        [
            (
                "SIPDefault.cnf",
                Edit::SetLine,
                "image_version: P00306000200"
            ),
            ("SIP<MAC>.cnf", Edit::SetLine, "image_version: P00306000200"),
            (
                "XMLDefault.cnf.xml",
                Edit::SetLine,
                "<loadInformation7 model=\"IP Phone 7960\">P00306000200</loadInformation7>"
            ),
            (
                "SEP<MAC>.cnf.xml",
                Edit::SetLine,
                "<loadInformation model=\"IP Phone 7960\">P00306000200</loadInformation>"
            ),
        ]
    );
    assert_eq!(h.rules[0], RuleId::SipImageVersion);
}

// --- Caveats ---------------------------------------------------------------

#[test]
fn state_error_goes_through_sip_2_3() {
    // The State Error log: POS30300.bin refused by a very old SCCP load.
    let plan = p("sccp:3.3", "POS30300", None);
    assert_eq!(route(&plan), ["sccp:3.3", "sip:2.3", "sip:3.0"]);
    let (a, b) = (&plan.hops[0], &plan.hops[1]);
    assert_eq!(a.forced_by, Some(RuleId::StateErrorViaSip23));
    assert_eq!(a.files, ["POS30203.bin"]);
    // Arriving on SIP 2.x: SIPDefault.cnf minimal (W210).
    assert_eq!(
        controls(a),
        [
            ("OS79XX.TXT", Edit::WholeFile, "POS30203"),
            (
                "SIPDefault.cnf",
                Edit::WholeFile,
                "image_version: POS30203\n"
            ),
            ("SIP<MAC>.cnf", Edit::SetLine, "image_version: POS30203"),
        ]
    );
    assert_eq!(b.files, ["POS30300.bin"]);
    assert_eq!(
        controls(b),
        [
            ("OS79XX.TXT", Edit::WholeFile, "POS30300"),
            (
                "SIPDefault.cnf",
                Edit::WholeFile,
                "image_version: POS30300\n"
            ),
            ("SIP<MAC>.cnf", Edit::SetLine, "image_version: POS30300"),
        ]
    );
    assert_eq!(b.section, "Enable SIP Functionality");
    // SCCP 5.x is not "very old": straight to SIP... but that is below 5.0,
    // so it is refused; and SCCP 4.x goes straight to SIP 4.x.
    assert_eq!(p("sccp:4.1(2)", "sip:4.4", None).hops.len(), 1);
}

#[test]
fn sip_3_goes_to_the_latest_sccp_4_present_before_5() {
    let root = Catalogue::from_file_names([
        "P00304010200.bin",
        "P00304020100.bin",
        "P00305000101.bin",
        "OS79XX.TXT",
    ]);
    let via4 = plan(e("sip:3.0"), e("sccp:5.0(1.1)"), None, &root).unwrap();
    assert_eq!(route(&via4), ["sip:3.0", "sccp:4.2(1)", "sccp:5.0(1.1)"]);
    let (a, b) = (&via4.hops[0], &via4.hops[1]);
    assert_eq!(a.forced_by, Some(RuleId::LatestSccp4Before5));
    assert_eq!(
        a.section,
        "SIP Images 4.x/Earlier to SCCP Images 5.x/Earlier"
    );
    assert_eq!(a.files, ["P00304020100.bin"]);
    assert_eq!(a.missing_files.as_deref(), Some(&[][..]));
    assert_eq!(a.control_files[0].content, "P00304020100");
    assert_eq!(b.control_files[0].content, "P00305000101");
    assert_eq!(b.mechanism, Mechanism::OriginalBoot);
    assert_eq!(b.reset.method, ResetMethod::CallManagerOrPowerCycle);
}

#[test]
fn sip_3_without_a_known_sccp_4_still_shows_the_hop() {
    let plan = p("sip:3.0", "sccp:8.1(2)SR2", None);
    assert_eq!(route(&plan), ["sip:3.0", "sccp:4.x", "sccp:8.1(2)SR2"]);
    let a = &plan.hops[0];
    assert_eq!(a.to.load, None);
    assert!(!a.to.in_catalogue);
    assert_eq!(a.files, [format!("{LATEST_4_PLACEHOLDER}.bin")]);
    assert_eq!(a.control_files[0].content, LATEST_4_PLACEHOLDER);
    assert!(a
        .warnings
        .iter()
        .any(|w| w.contains("latest SCCP 4.x load")));
}

#[test]
fn w210_keeps_sipdefault_minimal_while_on_sip_2() {
    let plan = p("POS30203", "sip:8.12", None);
    assert_eq!(plan.hops.len(), 1);
    let h = &plan.hops[0];
    assert_eq!(h.mechanism, Mechanism::UniversalLoader);
    assert!(h.rules.contains(&RuleId::W210MinimalSipDefault));
    assert_eq!(
        controls(h),
        [
            ("OS79XX.TXT", Edit::WholeFile, "P003-8-12-00"),
            (
                "SIPDefault.cnf",
                Edit::WholeFile,
                "image_version: P0S3-8-12-00\n"
            ),
            ("SIP<MAC>.cnf", Edit::SetLine, "image_version: P0S3-8-12-00"),
        ]
    );
    assert!(h.warnings.iter().any(|w| w.contains("W210")));
    // Not on SIP 2.x: no minimal file.
    let h = &p("sip:3.0", "sip:4.4", None).hops[0];
    assert_eq!(h.control_files[1].edit, Edit::SetLine);
}

#[test]
fn w210_also_holds_while_on_sip_1_x() {
    // Issue 10: W210 is "2.x or earlier" in the planner as in the emulator
    // and the doctor.
    let h = &p("POS30100", "sip:8.12", None).hops[0];
    assert!(h.rules.contains(&RuleId::W210MinimalSipDefault));
    let sd = h
        .control_files
        .iter()
        .find(|c| c.file == "SIPDefault.cnf")
        .unwrap();
    assert_eq!(
        (sd.edit, sd.content.as_str()),
        (Edit::WholeFile, "image_version: P0S3-8-12-00\n")
    );
}

#[test]
fn sip_2_1_gets_an_8_3_alias_for_the_sccp_load() {
    let plan = p("POS30201", "sccp:4.1(2)", Some(Model::Cp7960));
    assert_eq!(plan.hops.len(), 1);
    let h = &plan.hops[0];
    let alias = phoneflip_plan::alias_8_3(&"P00304010200".parse().unwrap());
    assert_eq!(alias.len(), 8);
    assert_eq!(
        h.files,
        ["P00304010200.bin".to_string(), format!("{alias}.bin")]
    );
    assert_eq!(h.copies.len(), 1);
    assert_eq!(h.copies[0].from, "P00304010200.bin");
    assert_eq!(h.copies[0].to, format!("{alias}.bin"));
    assert_eq!(
        controls(h),
        [
            ("OS79XX.TXT", Edit::WholeFile, alias.as_str()),
            (
                "SIPDefault.cnf",
                Edit::WholeFile,
                format!("image_version: {alias}\n").as_str()
            ),
            (
                "SIP<MAC>.cnf",
                Edit::SetLine,
                format!("image_version: {alias}").as_str()
            ),
            (
                "XMLDefault.cnf.xml",
                Edit::SetLine,
                "<loadInformation7 model=\"IP Phone 7960\">P00304010200</loadInformation7>"
            ),
            (
                "SEP<MAC>.cnf.xml",
                Edit::SetLine,
                "<loadInformation model=\"IP Phone 7960\">P00304010200</loadInformation>"
            ),
        ]
    );
    assert!(h.rules.contains(&RuleId::EightDotThree));
    assert!(h.rules.contains(&RuleId::W210MinimalSipDefault));
    // SIP 2.2 takes long names.
    assert!(p("POS30202", "sccp:4.1(2)", None).hops[0].copies.is_empty());
}

#[test]
fn no_downgrade_below_5_in_any_protocol() {
    let cat = Catalogue::builtin();
    for (from, to, nearest) in [
        ("sip:5.0", "sip:4.4", "sip:5.0"),
        ("sccp:5.0(1.1)", "POS30203", "sip:5.0"),
        ("sip:8.12", "sccp:4.1(2)", "sccp:5.0"),
        ("sccp:8.1(2)SR2", "sccp:3.3", "sccp:5.0"),
    ] {
        match plan(e(from), e(to), None, &cat) {
            Err(err @ PlanError::Forbidden { .. }) => {
                let msg = err.to_string();
                let PlanError::Forbidden {
                    rule,
                    section,
                    nearest: n,
                    ..
                } = err
                else {
                    unreachable!()
                };
                assert_eq!(rule, RuleId::NoDowngradeBelow5, "{from}->{to}");
                assert_eq!(section, "Enable SIP Functionality");
                assert_eq!(n.to_string(), nearest);
                assert!(msg.contains("4.4 plus signed images"), "{msg}");
                assert!(msg.contains(&format!("closest reachable target is {nearest}")));
            }
            other => panic!("{from}->{to}: {other:?}"),
        }
    }
    // The nearest target is itself reachable.
    assert!(plan(e("sip:5.0"), e("sip:5.0"), None, &cat).is_ok());
    assert!(plan(e("sccp:8.1(2)SR2"), e("sccp:5.0"), None, &cat).is_ok());
}

// --- Same protocol, MGCP, roots ----------------------------------------------

#[test]
fn same_protocol_upgrades_plan() {
    let h = &p("sip:7.4", "sip:8.12", None).hops[0];
    assert_eq!(h.mechanism, Mechanism::UniversalLoader);
    assert_eq!(h.files, SIP_8_12_FILES);
    assert_eq!(
        controls(h),
        [
            ("OS79XX.TXT", Edit::WholeFile, "P003-8-12-00"),
            (
                "SIPDefault.cnf",
                Edit::SetLine,
                "image_version: P0S3-8-12-00"
            ),
            ("SIP<MAC>.cnf", Edit::SetLine, "image_version: P0S3-8-12-00"),
        ]
    );
    let h = &p("sccp:7.2(3)", "sccp:8.1(2)SR2", Some(Model::Cp7940)).hops[0];
    assert_eq!(h.mechanism, Mechanism::UniversalLoader);
    assert_eq!(
        controls(h),
        [
            (
                "XMLDefault.cnf.xml",
                Edit::SetLine,
                "<loadInformation8 model=\"IP Phone 7940\">P0030801SR02</loadInformation8>"
            ),
            (
                "SEP<MAC>.cnf.xml",
                Edit::SetLine,
                "<loadInformation model=\"IP Phone 7940\">P0030801SR02</loadInformation>"
            ),
        ]
    );
    assert!(!h.documented);
    let same = p("sip:8.12", "P0S3-8-12-00", None);
    assert!(same.hops.is_empty());
    assert!(same.render_text().contains("nothing to do"));
}

#[test]
fn mgcp_follows_the_version_rules() {
    // A universal-loader MGCP load reads the image from MGC<MAC>.cnf.
    let plan = p("mgcp:8.0(1)", "sip:8.12", None);
    let h = &plan.hops[0];
    assert_eq!(h.mechanism, Mechanism::ConfigImage);
    assert!(h
        .control_files
        .iter()
        .any(|c| c.file == "MGC<MAC>.cnf" && c.content == "image_version: P0S3-8-12-00"));
    assert!(matches!(
        plan_err("mgcp:5.0(1)", "sccp:4.1(2)"),
        PlanError::Forbidden {
            rule: RuleId::NoDowngradeBelow5,
            ..
        }
    ));
    assert_eq!(
        p("sip:6.3", "mgcp:8.0(1)", None).hops[0].mechanism,
        Mechanism::Gkdefault
    );
}

fn plan_err(from: &str, to: &str) -> PlanError {
    plan(e(from), e(to), None, &Catalogue::builtin()).unwrap_err()
}

#[test]
fn a_root_catalogue_flags_missing_files() {
    let root = Catalogue::from_file_names(["P0S3-8-12-00.loads", "P0S3-8-12-00.sb2"]);
    let present = plan(e("sccp:8.1(2)SR2"), e("sip:8.12"), None, &root).unwrap();
    let h = &present.hops[0];
    assert!(h.to.in_catalogue);
    assert_eq!(
        h.missing_files.as_deref(),
        Some(
            &[
                "P003-8-12-00.bin".to_string(),
                "P003-8-12-00.sbn".to_string()
            ][..]
        )
    );
    assert!(present
        .render_text()
        .contains("P003-8-12-00.sbn  (MISSING)"));
    // A release absent from the root still plans, and says so.
    let absent = plan_with(&root, "sccp:8.1(2)SR2", "sip:7.4");
    assert!(!absent.hops[0].to.in_catalogue);
    assert!(absent.hops[0]
        .warnings
        .iter()
        .any(|w| w.contains("not in the catalogue")));
}

fn plan_with(cat: &Catalogue, from: &str, to: &str) -> Plan {
    plan(e(from), e(to), None, cat).unwrap()
}

#[test]
fn the_human_rendering_numbers_hops_and_shows_contents() {
    let text = p("sip:4.4", "sccp:8.1(2)SR2", Some(Model::Cp7960)).render_text();
    assert!(text.contains("1. sip:4.4 (POS3-04-4-00) -> sccp:6.0(3) (P00306000300)"));
    assert!(text.contains("2. sccp:6.0(3) (P00306000300) -> sccp:8.1(2)SR2 (P0030801SR02)"));
    assert!(text.contains("OS79XX.TXT must contain exactly:\n     P00306000300\n"));
    assert!(text.contains("Reference: SIP Images 4.x/Earlier to SCCP Images 6.x/Later"));
    assert!(text.contains("Reset the phone"));
}

#[test]
fn an_intermediate_missing_from_the_root_still_appears_and_names_its_file() {
    let root = Catalogue::from_file_names(["POS30300.bin", "P0030801SR02.bin"]);
    let via23 = plan(e("sccp:3.3"), e("POS30300"), None, &root).unwrap();
    let a = &via23.hops[0];
    assert_eq!(a.to.load.as_deref(), Some("POS30203"));
    assert!(!a.to.in_catalogue);
    assert_eq!(
        a.missing_files.as_deref(),
        Some(&["POS30203.bin".to_string()][..])
    );
    assert!(a
        .warnings
        .iter()
        .any(|w| w.contains("not in the catalogue")));
    assert_eq!(via23.hops[1].missing_files.as_deref(), Some(&[][..]));

    let via63 = plan(e("sip:4.4"), e("P0030801SR02"), None, &root).unwrap();
    let a = &via63.hops[0];
    assert_eq!(a.to.load.as_deref(), Some("P00306000300"));
    assert_eq!(
        a.missing_files.as_deref().map(|m| m.len()),
        Some(4),
        "all four 6.0(3) files"
    );
}

#[test]
fn gkdefault_hop_shows_the_line_it_replaces() {
    let h = &p("sip:6.3", "sccp:8.0(4)", None).hops[0];
    assert!(h.warnings.iter().any(|w| w.contains(
        "upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x060412a,CP7940080001SIP060412A.sbin"
    )));
    let h = &p("sip:6.3", "mgcp:8.0(1)", None).hops[0];
    assert!(h.control_files[0]
        .content
        .ends_with("CP7940080001MGCP<CODE>.sbin"));
}
