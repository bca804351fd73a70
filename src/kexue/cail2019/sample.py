"""A small synthetic CAIL2019 要素识别 set in the real layout, the stand-in when the real data is absent:

    OUT/train.json          labelled documents, one JSON list of {labels, sentence} per line
    OUT/test.json           other documents in the same layout, every `labels` empty: what a competitor predicts
    OUT/test_gold.json      test.json with its true labels, for scoring the sample
    OUT/tags.txt            DV1..DV20 (divorce) or LB1..LB20 (labor), one per line
    OUT/selectedtags.txt    the real Chinese tag names, in the same order

Each tag has a few characteristic phrases in judgement style (婚后有子女: '婚后生育一子李某甲', '双方育有一女…'),
and a sentence holds 0-3 of them, shuffled among neutral filler (parties such as 原告王某某, dates, places, sums,
court procedure), so its labels follow from which phrases it holds, not from where it stands: a char-level CNN can
learn them. Some phrases carry two tags, as real sentences do (按月给付抚养费 is also 支付抚养费; 感情不和分居满二年
is also 婚后分居). Tags are drawn with the real files' frequencies, floored at 1/40 of the commonest so the rare ones
(real: 54 of 8,850 divorce labels, 1 of 2,077 labor) still occur; every tag occurs in train. About 57% of divorce
sentences carry no tag (real: 56%), 70% of labor ones (real: 73%). Documents have 8-16 sentences (real: 6-141, mean
29) so the sample trains in minutes on two CPU cores. The same seed gives the same bytes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import io
from .data import format_document

# the real selectedtags.txt of each domain, so the sample needs no ../shared
TAG_NAMES = {
    "divorce": ("婚后有子女", "限制行为能力子女抚养", "有夫妻共同财产", "支付抚养费", "不动产分割", "婚后分居",
                "二次起诉离婚", "按月给付抚养费", "准予离婚", "有夫妻共同债务", "婚前个人财产", "法定离婚",
                "不履行家庭义务", "存在非婚生子", "适当帮助", "不履行离婚协议", "损害赔偿", "感情不和分居满二年",
                "子女随非抚养权人生活", "婚后个人财产"),
    "labor": ("解除劳动关系", "支付工资", "支付经济补偿金", "未支付足额劳动报酬", "存在劳动关系", "未签订劳动合同",
              "签订劳动合同", "支付加班工资", "支付未签订劳动合同二倍工资赔偿", "支付工伤赔偿", "劳动仲裁阶段未提起",
              "不支付违法解除劳动关系赔偿金", "经济性裁员", "不支付奖金", "违法向劳动者收取财物", "特殊工种",
              "支付工亡补助金|丧葬补助金|抚恤金", "用人单位提前通知解除", "法人资格已灭失", "有调解协议"),
}
PREFIX = {"divorce": "DV", "labor": "LB"}
# label counts per tag in the real data_small_selected.json, tags order
REAL_COUNTS = {
    "divorce": (2402, 1469, 1212, 585, 515, 378, 381, 364, 361, 317, 109, 173, 160, 54, 56, 62, 63, 59, 73, 57),
    "labor": (401, 303, 264, 217, 201, 183, 136, 125, 103, 76, 8, 14, 3, 4, 3, 4, 1, 12, 8, 5),
}
# P(a sentence draws 0, 1, 2, 3 tags)
N_TAGS_P = {"divorce": (0.57, 0.29, 0.11, 0.03), "labor": (0.70, 0.22, 0.07, 0.01)}
KEY_ORDER = {"divorce": ("labels", "sentence"), "labor": ("sentence", "labels")}     # as the real files write them

# Phrases per tag number (1-based, tags order); a tuple (phrase, n) also carries tag n.
PHRASES = {
    "divorce": {
        1: ["婚后生育一子{c}", "双方育有一女{c}", "婚后于{date}生育长女{c}", "婚后生有一子一女", "婚生子{c}现年{age}岁"],
        2: ["婚生子{c}由{party}抚养", "孩子随{party}共同生活", "双方均要求抚养婚生女", "女儿{c}由原告直接抚养教育",
            "孩子年幼随母亲生活更有利于其成长"],
        3: ["婚后购买{place}住房一套", "夫妻共同存款{money}元", "婚后共同购置{car}一辆", "家具家电等共同财产若干"],
        4: ["由被告{d}负担子女抚养费", "被告一次性支付抚养费{money}元", "抚养费由{party}承担",
            "原告要求被告支付孩子抚养费"],
        5: ["位于{place}的房屋归原告所有", "要求依法分割双方名下的房产", "宅基地上的楼房由双方各分一半"],
        6: ["双方自{date}起分居至今", "婚后不久即开始分居生活", "被告搬回娘家居住后双方一直分居"],
        7: ["原告曾于{date}向本院起诉离婚", "原告第一次起诉离婚被本院判决驳回", "这是原告第二次提起离婚诉讼"],
        8: [("被告每月给付抚养费{small}元", 4), ("按月支付孩子抚养费{small}元至其年满十八周岁", 4),
            ("抚养费每月{small}元于每月月底前付清", 4)],
        9: ["准予原告{p}与被告{d}离婚", "判决准许双方离婚", "对原告的离婚请求本院予以支持"],
        10: ["婚后共同向{lender}借款{money}元", "双方尚欠银行贷款{money}元未还", "该笔借款系夫妻共同债务"],
        11: ["该房屋系原告婚前购买", "被告婚前个人所有的轿车一辆", "陪嫁的首饰属原告婚前个人财产"],
        12: ["夫妻感情确已破裂", "双方感情已彻底破裂无和好可能", "符合法律规定的离婚条件"],
        13: ["被告对家庭不管不问", "被告长期在外不顾家庭", "被告从不给家里生活费"],
        14: ["被告与他人生育一非婚生子", "被告在外与他人同居并育有一女", "原告婚外生育的孩子已满{age}岁"],
        15: ["原告生活困难被告应给予适当帮助", "被告一次性给予原告经济帮助{money}元", "离婚后原告无住处被告应予帮助"],
        16: ["被告至今未履行离婚协议", "离婚协议约定的补偿款被告拒不支付", "被告未按协议约定过户房屋"],
        17: ["要求被告赔偿精神损害抚慰金{money}元", "被告应支付原告离婚损害赔偿金{money}元",
             "被告实施家庭暴力应承担损害赔偿责任"],
        18: [("因感情不和分居已满二年", 6), ("双方因感情不和已分居两年以上", 6), "感情不和分居满二年的应准予离婚"],
        19: ["孩子实际一直随{party}的父母生活", "婚生子虽判归原告抚养但一直随被告生活", "女儿现由非直接抚养一方照顾"],
        20: ["该款系被告婚后继承所得属其个人财产", "原告婚后所得的人身损害赔偿金归其个人所有",
             "婚后父母明确赠与被告个人的房屋"],
    },
    "labor": {
        1: ["双方于{date}解除劳动关系", "公司于{date}与原告解除劳动合同", "原告以公司未缴纳社保为由提出解除劳动合同"],
        2: ["被告应支付原告拖欠的工资{money}元", "要求被告支付{date}至今的工资", "公司应向原告补发工资{money}元"],
        3: ["被告应支付原告解除劳动合同经济补偿金{money}元", "要求被告支付经济补偿{money}元",
            "公司应按工作年限支付经济补偿"],
        4: ["被告拖欠原告工资未付", "公司未足额支付原告劳动报酬", "被告长期克扣原告工资"],
        5: ["原告与被告之间存在劳动关系", "确认双方自{date}起存在劳动关系", "原告接受被告的管理并领取报酬"],
        6: ["被告未与原告签订书面劳动合同", "双方一直未签订劳动合同", "公司入职时未与原告订立劳动合同"],
        7: ["双方签订了期限为三年的劳动合同", "原告与公司于{date}签订书面劳动合同", "双方续签了无固定期限劳动合同"],
        8: ["要求被告支付加班工资{money}元", "公司应支付原告延时加班费", "原告每周工作六天应计发休息日加班工资"],
        9: [("被告应支付原告未签订劳动合同的二倍工资差额{money}元", 6), "要求支付未签合同双倍工资"],
        10: ["被告应支付原告一次性伤残就业补助金{money}元", "原告被认定为工伤要求支付工伤待遇",
             "公司应支付原告停工留薪期工资及医疗费"],
        11: ["该项请求原告在劳动仲裁阶段未提出", "未经仲裁前置程序本院不予处理"],
        12: ["原告要求支付违法解除劳动合同赔偿金本院不予支持", "公司解除劳动合同合法无需支付赔偿金"],
        13: ["公司因经营困难进行经济性裁员", "被告依法裁减人员二十人以上"],
        14: ["原告主张的年终奖金本院不予支持", "公司无需支付原告绩效奖金"],
        15: ["被告入职时向原告收取押金{small}元", "公司扣押原告身份证并收取保证金"],
        16: ["原告从事的井下作业属特殊工种", "原告所在的高温岗位属于特殊工种"],
        17: ["被告应支付一次性工亡补助金及丧葬补助金{money}元", "要求支付供养亲属抚恤金"],
        18: ["公司提前三十日书面通知原告解除劳动合同", "被告额外支付一个月工资后解除劳动合同"],
        19: ["被告公司已被注销法人资格已灭失", "该公司已被吊销营业执照并注销登记"],
        20: ["双方在劳动仲裁委员会主持下达成调解协议", "双方自愿达成调解协议并已履行"],
    },
}
# whole sentences that carry no tag; they share words with the phrases (离婚, 工资…) so words alone do not decide.
# One marked '^' takes no opening ('经审理查明，如不服本判决…' would read wrong).
NEUTRAL = {
    "divorce": ["原告{p}与被告{d}于{date}经人介绍相识，{date2}登记结婚。", "^原告{p}向本院提出诉讼请求：",
                "^被告{d}辩称，原告所述不是事实。", "被告{d}经本院合法传唤，无正当理由拒不到庭参加诉讼。",
                "^上述事实，有结婚证、户口簿及当事人陈述等证据在卷佐证。", "^本案依法适用简易程序，公开开庭进行了审理。",
                "^案件受理费{fee}元，由被告负担。", "^如不服本判决，可在判决书送达之日起十五日内向本院递交上诉状。",
                "双方婚前缺乏了解，婚后经常因家庭琐事发生争吵。", "原告{p}陈述的离婚理由基本属实。",
                "^本院认为，婚姻关系的存续应以夫妻感情为基础。", "被告{d}当庭表示同意调解。", "^{court}于{date}立案受理。",
                "^原告为证明其主张，提交了以下证据：", "被告对原告提交的证据的真实性无异议。",
                "^以上事实，双方当事人均无异议，本院予以确认。", "^原告{p}诉称，被告脾气暴躁，经常酗酒。"],
    "labor": ["原告{p}于{date}入职被告{company}，担任{job}。", "^被告{company}辩称，原告的诉讼请求没有事实和法律依据。",
              "^{company}系依法成立的有限责任公司。", "^原告不服仲裁裁决，遂诉至本院。", "^{arb}于{date}作出仲裁裁决。",
              "^本院依法组成合议庭，公开开庭进行了审理。", "^原告为证明其主张，提交了工资条及考勤记录。",
              "被告对上述证据的真实性有异议。", "原告离职前十二个月的月平均工资为{money}元。", "^原告{p}向本院提出诉讼请求：",
              "^案件受理费{fee}元，由被告负担。", "^如不服本判决，可在判决书送达之日起十五日内向本院递交上诉状。",
              "被告{company}经本院合法传唤未到庭参加诉讼。", "^原告{p}申请劳动仲裁，要求被告支付各项费用。"],
}
# remarks shuffled among the phrases of a labelled sentence, and openings put before about a third of all sentences
CLAUSES = {"divorce": ["对此被告无异议", "原告提交了相关证据", "双方当事人均认可", "有证人证言为证", "被告不予认可",
                       "原告{p}当庭陈述"],
           "labor": ["对此被告无异议", "原告提交了工资条", "有考勤记录为证", "被告不予认可", "双方当事人均认可",
                     "原告{p}当庭陈述"]}
OPENINGS = {"divorce": ["经审理查明，", "原告{p}诉称：", "被告{d}辩称，", "另查明，", "{date}，", "庭审中，", "本院认为，"],
            "labor": ["经审理查明，", "原告{p}诉称：", "被告{company}辩称，", "另查明，", "{date}，", "本院认为，"]}

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田"
PLACE = "安宁华泰和平昌兴清远永康嘉丰瑞德福春江林湖云海新隆盛祥通"
TRADES = ("建筑", "物流", "商贸", "电子", "餐饮", "机械", "纺织", "物业")
JOBS = ("司机", "保安", "操作工", "销售经理", "厨师", "会计", "焊工", "仓库管理员")
CARS = ("轿车", "小型客车", "电动汽车", "面包车")
LENDERS = ("原告父母", "被告的朋友", "农村信用社", "亲戚")


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


class _Filler(dict):
    """Values for a template's {fields}, drawn when first asked for, so a template consumes only what it uses."""

    def __init__(self, rng, people: dict):
        super().__init__(people)
        self.rng = rng

    def __missing__(self, key):
        r = self.rng
        make = {"date": lambda: f"{r.integers(1995, 2019)}年{r.integers(1, 13)}月{r.integers(1, 29)}日",
                "money": lambda: f"{int(r.integers(2, 400)) * 500}", "small": lambda: f"{int(r.integers(3, 20)) * 100}",
                "fee": lambda: f"{int(r.integers(1, 60)) * 10}", "age": lambda: f"{r.integers(2, 17)}",
                "party": lambda: _pick(r, ("原告", "被告")), "car": lambda: _pick(r, CARS),
                "lender": lambda: _pick(r, LENDERS), "job": lambda: _pick(r, JOBS)}
        make["date2"] = make["date"]
        self[key] = value = make[key]()
        return value


def _people(rng, domain: str) -> dict:
    """The parties of one document: named once, reused by its sentences, as in a real judgement."""
    i, j = rng.choice(len(SURNAMES), size=2, replace=False)
    place = "".join(_pick(rng, PLACE) for _ in range(2))
    return {"p": f"{SURNAMES[i]}某某", "d": f"{SURNAMES[j]}某某", "c": f"{SURNAMES[j]}某{_pick(rng, '甲乙丙')}",
            "place": f"{place}市{_pick(rng, PLACE)}{_pick(rng, PLACE)}小区", "court": f"{place}市人民法院",
            "company": f"{place}{_pick(rng, TRADES)}有限公司", "arb": f"{place}市劳动人事争议仲裁委员会"}


def _sentence(rng, domain: str, people: dict, tag_numbers: list[int]) -> tuple[str, list[int]]:
    """A sentence holding one phrase of each of `tag_numbers` (none: a neutral sentence), and its tags."""
    fill = _Filler(rng, people)
    opening = _pick(rng, OPENINGS[domain]) if rng.random() < 0.35 else ""
    if not tag_numbers:
        text = _pick(rng, NEUTRAL[domain])
        return (text[1:] if text.startswith("^") else opening + text).format_map(fill), []
    clauses, labels = [], set(tag_numbers)
    for t in tag_numbers:
        phrase = _pick(rng, PHRASES[domain][t])
        if isinstance(phrase, tuple):
            phrase, also = phrase
            labels.add(also)
        clauses.append(phrase)
    if rng.random() < 0.4:
        clauses.append(_pick(rng, CLAUSES[domain]))
    order = rng.permutation(len(clauses))
    return (opening + "，".join(clauses[k] for k in order) + "。").format_map(fill), sorted(labels)


def _documents(rng, domain: str, n: int, weights: np.ndarray, pending: list[int]) -> list[list[dict]]:
    """n labelled documents; the tags in `pending` are used first (and removed), so each occurs at least once."""
    tags, keys, documents = [f"{PREFIX[domain]}{k}" for k in range(1, 21)], KEY_ORDER[domain], []
    for _ in range(n):
        people, document = _people(rng, domain), []
        for _ in range(int(rng.integers(8, 17))):
            k = int(rng.choice(4, p=N_TAGS_P[domain]))
            chosen = [int(t) + 1 for t in rng.choice(20, size=k, replace=False, p=weights)]
            if chosen and pending and pending[0] not in chosen:
                chosen[0] = pending.pop(0)
            elif chosen and pending:
                pending.remove(pending[0])
            text, labels = _sentence(rng, domain, people, chosen)
            values = {"labels": [tags[t - 1] for t in labels], "sentence": text}
            document.append({key: values[key] for key in keys})
        documents.append(document)
    return documents


def _write(path: Path, documents) -> None:
    io.write_text(path, "".join(format_document(document) + "\n" for document in documents))


def generate(out_dir, seed: int = 0, n_train_docs: int = 300, n_test_docs: int = 80, domain: str = "divorce") -> dict:
    """Write train.json, test.json, test_gold.json, tags.txt and selectedtags.txt under out_dir; returns counts
    (documents, sentences, the unlabelled fraction). Deterministic for a seed."""
    if domain not in TAG_NAMES:
        raise ValueError(f"domain must be one of {sorted(TAG_NAMES)}, got {domain!r}")
    if n_train_docs < 1 or n_test_docs < 1:
        raise ValueError("n_train_docs and n_test_docs must be at least 1")
    out_dir, rng = Path(out_dir), np.random.default_rng(seed)
    counts = np.asarray(REAL_COUNTS[domain], dtype=float)
    weights = np.maximum(counts, counts.max() / 40)
    weights /= weights.sum()
    train = _documents(rng, domain, n_train_docs, weights, pending=list(range(1, 21)))
    gold = _documents(rng, domain, n_test_docs, weights, pending=[])
    test = [[{key: [] if key == "labels" else value for key, value in s.items()} for s in document] for document in gold]
    _write(out_dir / "train.json", train)
    _write(out_dir / "test.json", test)
    _write(out_dir / "test_gold.json", gold)
    io.write_text(out_dir / "tags.txt", "".join(f"{PREFIX[domain]}{k}\n" for k in range(1, 21)))
    io.write_text(out_dir / "selectedtags.txt", "".join(f"{name}\n" for name in TAG_NAMES[domain]))
    sentences = [s for document in train + gold for s in document]
    return {"domain": domain, "train_documents": len(train), "test_documents": len(test),
            "train_sentences": sum(map(len, train)), "test_sentences": sum(map(len, test)),
            "unlabelled_fraction": round(sum(not s["labels"] for s in sentences) / len(sentences), 4), "tags": 20}
