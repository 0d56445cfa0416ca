//! The node pieces against rust-bitcoin as the oracle.

use bitcoin::consensus::deserialize;
use serde_json::json;

use super::address::{script_for, AddressError, Network};
use super::template::{self, bip34_height, Coinbase, Template};
use crate::Header;

const MAINNET_BLOCK: &[u8] = include_bytes!(
    "../../tests/data/blocks/mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw"
);

#[test]
fn addresses_pay_the_scripts_rust_bitcoin_makes() {
    let cases = [
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", Network::Main),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", Network::Main),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", Network::Main),
        (
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            Network::Main,
        ),
        (
            "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
            Network::Main,
        ),
        ("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", Network::Test),
        ("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", Network::Test),
        ("2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", Network::Signet),
        (
            "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
            Network::Regtest,
        ),
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", Network::Main),
    ];
    for (a, n) in cases {
        let ours = script_for(a, n).unwrap_or_else(|e| panic!("{a}: {e}"));
        let theirs = a
            .parse::<bitcoin::Address<_>>()
            .unwrap()
            .assume_checked()
            .script_pubkey();
        assert_eq!(ours, theirs.to_bytes(), "{a}");
    }
}

#[test]
fn addresses_of_another_network_or_malformed_are_refused() {
    assert!(matches!(
        script_for(
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            Network::Regtest
        ),
        Err(AddressError::WrongNetwork { .. })
    ));
    assert!(matches!(
        script_for("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", Network::Test),
        Err(AddressError::WrongNetwork { .. })
    ));
    for bad in [
        "",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
        "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyU",
        // A taproot address with a bech32 (not bech32m) checksum.
        "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqp3mvzv",
        "not an address",
    ] {
        assert!(
            matches!(
                script_for(bad, Network::Main),
                Err(AddressError::Malformed(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn bip34_heights_as_core_writes_them() {
    assert_eq!(bip34_height(1), vec![0x51]);
    assert_eq!(bip34_height(16), vec![0x60]);
    assert_eq!(bip34_height(17), vec![0x01, 17]);
    assert_eq!(bip34_height(128), vec![0x02, 0x80, 0x00]);
    assert_eq!(bip34_height(840_000), vec![0x03, 0x40, 0xd1, 0x0c]);
    for h in [17u64, 255, 256, 65_535, 500_000, 8_388_608] {
        let script = bitcoin::blockdata::script::Builder::new()
            .push_int(h as i64)
            .into_script();
        assert_eq!(bip34_height(h), script.to_bytes(), "{h}");
    }
}

/// A template made of a real block's transactions, as Core serves it.
fn template_json(block: &bitcoin::Block, with_commitment: bool) -> serde_json::Value {
    let txs: Vec<serde_json::Value> = block.txdata[1..]
        .iter()
        .map(|t| {
            json!({
                "data": bitcoin::consensus::encode::serialize_hex(t),
                "txid": t.compute_txid().to_string(),
                "hash": t.compute_wtxid().to_string(),
            })
        })
        .collect();
    let mut v = json!({
        "version": 0x2000_0000,
        "rules": ["csv", "!segwit", "taproot"],
        "previousblockhash": block.header.prev_blockhash.to_string(),
        "transactions": txs,
        "coinbasevalue": 625_000_000u64,
        "curtime": 1_700_000_000u64,
        "mintime": 1_699_990_000u64,
        "bits": "207fffff",
        "height": 840_000,
        "longpollid": "x",
    });
    if with_commitment {
        let c = block.txdata[0]
            .output
            .iter()
            .find(|o| {
                o.script_pubkey
                    .as_bytes()
                    .starts_with(&[0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed])
            })
            .unwrap();
        v["default_witness_commitment"] = json!(crate::hex::encode(c.script_pubkey.as_bytes()));
    }
    v
}

#[test]
fn a_template_of_real_transactions_makes_a_block_rust_bitcoin_accepts() {
    let real: bitcoin::Block = deserialize(MAINNET_BLOCK).unwrap();
    // The node's commitment, and the one hashrig works out itself: the
    // same block either way.
    for with_commitment in [true, false] {
        let t = Template::from_json(&template_json(&real, with_commitment)).unwrap();
        assert!(t.segwit);
        let payout =
            script_for("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", Network::Main).unwrap();
        let coinbase = Coinbase::build(&t, &payout, b"hashrig test");
        let job = template::pool_job(&t, &coinbase, "840000:1".into(), 0x1fff_e000);
        let extranonce = template::EXTRANONCE_SIZE;
        let en = vec![7u8; extranonce];
        let header: Header = job.header(&en, t.start_time(), t.version).with_nonce(42);
        let bytes = template::block(&header, &t, &coinbase, &en);
        let block: bitcoin::Block = deserialize(&bytes).unwrap();
        assert!(block.check_merkle_root(), "{with_commitment}");
        assert!(block.check_witness_commitment(), "{with_commitment}");
        assert_eq!(block.bip34_block_height(), Ok(840_000));
        assert_eq!(block.txdata.len(), real.txdata.len());
        assert_eq!(block.header.prev_blockhash, real.header.prev_blockhash);
        assert_eq!(
            block.block_hash().to_string(),
            header.block_hash().to_string()
        );
        let cb = &block.txdata[0];
        assert_eq!(cb.output[0].value.to_sat(), 625_000_000);
        assert_eq!(cb.output[0].script_pubkey.as_bytes(), &payout[..]);
        assert!(cb.input[0].script_sig.as_bytes().ends_with(b"hashrig test"));
    }
}

#[test]
fn node_urls_print_as_they_parse() {
    for (text, shown) in [
        ("http://127.0.0.1:8332", "http://127.0.0.1:8332"),
        ("http://node.lan", "http://node.lan:8332"),
        ("http://[::1]", "http://[::1]:8332"),
        ("http://[::1]:18443/", "http://[::1]:18443"),
    ] {
        let url: super::NodeUrl = text.parse().unwrap();
        assert_eq!(url.to_string(), shown);
        assert_eq!(shown.parse::<super::NodeUrl>().unwrap(), url);
    }
    // Found by fuzzing: hosts that printed as URLs that did not parse
    // back to them.
    for bad in [
        "http://1].0.1:8332X02.0.1:83",
        "http://a:b:8332",
        "http://[::1]junk",
        "http://no de:8332",
    ] {
        assert!(bad.parse::<super::NodeUrl>().is_err(), "{bad}");
    }
}
