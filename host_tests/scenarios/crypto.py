"""SHA-512, Ed25519 and canonical JSON on both runtimes, against fixed published vectors.

SHA-512: FIPS 180-2 examples (plus 1000-byte messages, digests from CPython's hashlib).
Ed25519: RFC 8032 section 7.1 (TEST 1, 2, 3, 1024 and SHA(abc)), checked against OpenSSL too.
Canonical JSON: records whose text CPython's json.dumps(sort_keys=True, separators=(",", ":"))
gives. The random cross-checks against reference code are in test_crypto_host.py (host only).
"""

from binascii import hexlify, unhexlify

from doorstep import canon, compat, ed25519, sha512

# (message, SHA-512 hex)
SHA512_VECTORS = (
    (b"", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
    (b"abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
    (
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445",
    ),
    (
        b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
    ),
    (b"a" * 1000, "67ba5535a46e3f86dbfbed8cbbaf0125c76ed549ff8b0b9e03e0c88cf90fa634fa7b12b47d77b694de488ace8d9a65967dc96df599727d3292a8d9d447709c97"),
)
MIX_1000 = "00e36fccf193e59697a92b5ab24666ce6326d7fa16bf10832d0991ddc591112e9dfa6a636950ed9c4d67344a760654c2ff7785e1d60094d651038735b5dccabd"

# RFC 8032 section 7.1: (secret key, public key, message, signature), all hex
ED25519_VECTORS = (
    # TEST 1
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        (
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
            "d25bf5f0595bbe24655141438e7a100b"
        ),
    ),
    # TEST 2
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        (
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c"
            "387b2eaeb4302aeeb00d291612bb0c00"
        ),
    ),
    # TEST 3
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        (
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc659"
            "4a7c15e9716ed28dc027beceea1ec40a"
        ),
    ),
    # TEST 1024
    (
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        (
            "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1"
            "e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
            "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a"
            "7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
            "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10"
            "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
            "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d"
            "502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
            "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b"
            "eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
            "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b"
            "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
            "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d"
            "cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
            "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7"
            "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
            "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09"
            "43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
            "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161"
            "0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
            "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca"
            "c60c905c15fc910840b94c00a0b9d0"
        ),
        (
            "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b"
            "5e8fcd4f681e30a6ac00a9704a188a03"
        ),
    ),
    # TEST SHA(abc)
    (
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        (
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
            "454d4423643ce80e2a9ac94fa54ca49f"
        ),
        (
            "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e030"
            "3dca179c138ac17ad9bef1177331a704"
        ),
    ),
)

# (record, its canonical text as CPython's json.dumps(sort_keys=True, separators=(",", ":")) writes it)
CANON_VECTORS = (
    (
        {"v": 1, "dev": "0123456789abcdef", "seq": 7, "boot": 2, "t": 1767225600, "tq": "ntp", "ms": 123456, "ev": "ring", "prev": "00000000"},
        '{"boot":2,"dev":"0123456789abcdef","ev":"ring","ms":123456,"prev":"00000000","seq":7,"t":1767225600,"tq":"ntp","v":1}',
    ),
    (
        {"ev": "heartbeat", "counts": {"ring": 3, "attempt": 0}, "since": None, "free": -1, "ok": True, "bad": False, "list": [1, [2, []], {}]},
        '{"bad":false,"counts":{"attempt":0,"ring":3},"ev":"heartbeat","free":-1,"list":[1,[2,[]],{}],"ok":true,"since":null}',
    ),
    (
        {
            "note": "quote\" back\\ nl\n cr\r tab\t bs\b ff\f nul\x00 us\x1f del\x7f",
            "uni": "caf\u00e9 \u20ac \U0001f600 \U0010ffff",
            "\u00e9key": 1,
            "Zkey": 2,
            "akey": 3,
            "": 0,
        },
        '{"":0,"Zkey":2,"akey":3,"note":"quote\\" back\\\\ nl\\n cr\\r tab\\t bs\\b ff\\f nul\\u0000 us\\u001f del\\u007f",'
        '"uni":"caf\\u00e9 \\u20ac \\ud83d\\ude00 \\udbff\\udfff","\\u00e9key":1}',
    ),
    (
        {"big": 1 << 100, "neg": -(1 << 70), "zero": 0},
        '{"big":1267650600228229401496703205376,"neg":-1180591620717411303424,"zero":0}',
    ),
)


def scenario_sha512_vectors():
    for msg, want in SHA512_VECTORS:
        assert sha512.sha512(msg).hexdigest() == want, len(msg)
        assert hexlify(sha512.sha512(msg).digest()).decode() == want


def scenario_sha512_multi_update():
    data = bytes([(i * 7 + 3) % 256 for i in range(1000)])
    assert sha512.sha512(data).hexdigest() == MIX_1000
    for step in (1, 17, 111, 112, 127, 128, 129, 240, 999):
        h = sha512.sha512()
        for o in range(0, len(data), step):
            h.update(data[o : o + step])
        assert h.hexdigest() == MIX_1000, step
    h = sha512.sha512(bytearray(data[:500]))
    h.update(memoryview(data)[500:])
    assert h.hexdigest() == MIX_1000


def scenario_ed25519_rfc8032_vectors():
    for sk, pk, msg, sig in ED25519_VECTORS:
        seed = unhexlify(sk)
        msg = unhexlify(msg)
        pub = ed25519.public_key(seed)
        assert hexlify(pub).decode() == pk, pk
        assert hexlify(ed25519.sign(seed, msg)).decode() == sig, pk
        assert hexlify(ed25519.sign(seed, msg, pub)).decode() == sig, pk


def scenario_ed25519_refuses_a_wrong_public_key():
    seed = unhexlify(ED25519_VECTORS[0][0])
    wrong = unhexlify(ED25519_VECTORS[1][1])
    try:
        ed25519.sign(seed, b"m", wrong)
    except ValueError:
        pass
    else:
        raise AssertionError("signed with a public key that is not the seed's")


def scenario_ed25519_keypair():
    seed, pub = ed25519.keypair(lambda n: unhexlify(ED25519_VECTORS[2][0])[:n])
    assert hexlify(pub).decode() == ED25519_VECTORS[2][1]
    try:
        ed25519.keypair(lambda n: bytes(n - 1))
    except ValueError:
        pass
    else:
        raise AssertionError("accepted a short seed")


def scenario_sign_steps_yields_often():
    sk, pk, msg, sig = ED25519_VECTORS[4]
    gen = ed25519.sign_steps(unhexlify(sk), unhexlify(msg))
    steps = 0
    try:
        while True:
            next(gen)
            steps += 1
    except StopIteration as e:
        assert hexlify(e.value).decode() == sig
    assert steps > 40, steps  # SHA-512 every 16 rounds, the comb every few columns, the inversion every 25 squarings
    ed25519.public_key(unhexlify(sk))  # the comb table exists now
    n = sum(1 for _ in ed25519._mul_base_steps(12345))
    assert n * ed25519._COLUMNS_PER_STEP >= ed25519._GAP, n  # a yield at least every few columns


async def scenario_sign_is_cooperative():
    import asyncio

    seed = unhexlify(ED25519_VECTORS[3][0])
    msg = bytes(range(200))
    ticks = [0]
    stop = [False]
    out = {}

    async def spin():
        while not stop[0]:
            ticks[0] += 1
            await compat.sleep_ms(0)

    async def signer():
        await compat.sleep_ms(0)
        start = ticks[0]
        out["sig"] = await ed25519.sign_async(seed, msg)
        out["advanced"] = ticks[0] - start
        stop[0] = True

    # Both sides run as asyncio tasks: under the WebAssembly port a coroutine awaited from the
    # top level is not a task, and would only resume once every task had finished.
    spinner = asyncio.create_task(spin())
    await asyncio.create_task(signer())
    await spinner
    assert out["advanced"] > 20, out["advanced"]
    assert out["sig"] == ed25519.sign(seed, msg)


def scenario_canon_vectors():
    for rec, want in CANON_VECTORS:
        assert canon.dumps(rec) == want, want
        assert canon.dumpb(rec) == want.encode()


def scenario_canon_refuses_floats_and_other_types():
    for bad in (1.5, {"a": [0.25]}, {1: "x"}, b"raw", {"s": set()}):
        try:
            canon.dumps(bad)
        except TypeError:
            pass
        else:
            raise AssertionError("encoded %r" % (bad,))
