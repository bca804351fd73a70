"""A small synthetic Chinese NL2SQL data set in the competition layout, the default when the real data is
absent: RAW/{train,val,test}/{split}.json, {split}.tables.json, {split}.db (test questions unlabelled).

Eight table domains (cities, companies, films, housing estates, books, universities, cars, hotels) with
Chinese titles and headers, text and real columns and plausible rows. Questions come from several
paraphrase templates per SQL shape; their SQL covers every aggregation, operator and connector, and
condition values are taken from the rows and an AND's two conditions hold on one row, so executing gold SQL
returns something. About one condition
in ten is written differently in the question than in the SQL ('11年' for 2011, '五' for 5, '2.3万' for
23000, '长沙' for '长沙市'), so value alignment and snapping have something to do.

    python -m kexue.nl2sql.sample OUT_DIR [--seed 0] [--n-tables 40] [--n-train 3000] [--n-val 200] [--n-test 200]
"""
from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from ..core import io
from .data import value_str
from .sql import write_db

# ---------------------------------------------------------------- vocabularies

def words(text: str) -> list[str]:
    return text.split()


CITY_PROVINCE = {
    "北京": "北京", "上海": "上海", "广州": "广东", "深圳": "广东", "杭州": "浙江", "南京": "江苏", "苏州": "江苏",
    "武汉": "湖北", "成都": "四川", "重庆": "重庆", "长沙": "湖南", "西安": "陕西", "郑州": "河南", "天津": "天津",
    "青岛": "山东", "济南": "山东", "合肥": "安徽", "福州": "福建", "厦门": "福建", "昆明": "云南", "南宁": "广西",
    "贵阳": "贵州", "沈阳": "辽宁", "大连": "辽宁", "哈尔滨": "黑龙江", "长春": "吉林", "南昌": "江西",
    "石家庄": "河北", "太原": "山西", "宁波": "浙江", "无锡": "江苏", "东莞": "广东", "佛山": "广东",
    "温州": "浙江", "兰州": "甘肃", "乌鲁木齐": "新疆",
}
REGION = {"北京": "华北", "天津": "华北", "河北": "华北", "山西": "华北", "上海": "华东", "江苏": "华东",
          "浙江": "华东", "安徽": "华东", "福建": "华东", "江西": "华东", "山东": "华东", "广东": "华南",
          "广西": "华南", "湖北": "华中", "湖南": "华中", "河南": "华中", "重庆": "西南", "四川": "西南",
          "贵州": "西南", "云南": "西南", "陕西": "西北", "甘肃": "西北", "新疆": "西北", "辽宁": "东北",
          "吉林": "东北", "黑龙江": "东北"}
CITIES = list(CITY_PROVINCE)
PROVINCES = sorted(set(CITY_PROVINCE.values()), key=list(CITY_PROVINCE.values()).index)
COMPANY_PREFIX = words("华远 中天 金石 东方 新安 恒瑞 海康 立讯 三安 紫光 天齐 光明 长江 华夏 招商 中兴 远大 万通 永辉 国泰 "
                       "宏达 星河 瑞丰 鼎盛")
INDUSTRY = {"科技": "信息技术", "电子": "电子", "医药": "医药生物", "地产": "房地产", "能源": "新能源",
            "传媒": "传媒", "证券": "非银金融", "食品": "食品饮料", "汽车": "汽车", "化工": "化工"}
FILMS = words("流浪地球 战狼2 哪吒之魔童降世 红海行动 唐人街探案2 美人鱼 我不是药神 中国机长 西虹市首富 捉妖记 湄公河行动 "
              "羞羞的铁拳 疯狂的外星人 飞驰人生 少年的你 我和我的祖国 八佰 你好李焕英 长津湖 满江红 独行月球 夏洛特烦恼 "
              "心花路放 港囧 寻龙诀 烈火英雄 误杀 无名之辈 芳华 邪不压正 一出好戏 前任3 悟空传 功夫瑜伽 西游伏妖篇 "
              "大鱼海棠 白蛇缘起 除暴 守岛人 人生大事")
DIRECTORS = words("郭帆 吴京 饶晓志 林超贤 陈思诚 周星驰 文牧野 刘伟强 宁浩 张艺谋 徐峥 贾玲 陈凯歌 冯小刚 曾国祥 韩寒 "
                  "姜文 黄渤 乌尔善 管虎")
GENRES = words("剧情 喜剧 动作 科幻 动画 爱情 悬疑 战争")
FILM_REGIONS = words("中国大陆 中国香港 美国 日本 韩国")
DEVELOPERS = words("世茂 万科 保利 碧桂园 绿地 龙湖 华润 融创 中海 招商 金地 旭辉")
PROJECTS = words("茂悦府 城市花园 天悦 一号院 锦绣里 滨江壹号 时代广场 云著 海上湾 御府 翡翠公园 星河湾 国际社区 公园里")
DISTRICTS = words("高新区 经开区 滨江区 老城区 新城区 城南 城北 东部新区 西部新区")
ESTATE_KINDS = words("住宅 公寓 别墅 商住")
BOOKS = words("活着 平凡的世界 三体 白夜行 围城 红楼梦 百年孤独 解忧杂货店 追风筝的人 明朝那些事儿 小王子 人类简史 黄金时代 "
              "边城 朝花夕拾 骆驼祥子 呐喊 白鹿原 许三观卖血记 长安的荔枝 球状闪电 鬼吹灯 盗墓笔记 兄弟 尘埃落定 文化苦旅 "
              "撒哈拉的故事 月亮与六便士 挪威的森林 霍乱时期的爱情 局外人 目送 额尔古纳河右岸 繁花 人世间 主角 长恨歌")
AUTHORS = words("余华 路遥 刘慈欣 东野圭吾 钱钟书 曹雪芹 马尔克斯 莫言 王小波 沈从文 老舍 鲁迅 陈忠实 马伯庸 张嘉佳 天下霸唱 "
                "南派三叔 阿来 余秋雨 三毛")
PUBLISHERS = words("人民文学出版社 作家出版社 南海出版公司 中信出版社 北京十月文艺出版社 上海译文出版社 重庆出版社 译林出版社 "
                   "长江文艺出版社 湖南文艺出版社")
UNIVERSITIES = words("北京大学 清华大学 复旦大学 浙江大学 南京大学 武汉大学 中山大学 四川大学 湖南大学 厦门大学 山东大学 "
                     "吉林大学 南开大学 天津大学 同济大学 东南大学 华中科技大学 西安交通大学 哈尔滨工业大学 北京师范大学 "
                     "华东师范大学 中南大学 重庆大学 兰州大学 电子科技大学 大连理工大学 郑州大学 苏州大学 暨南大学 "
                     "上海财经大学")
UNI_KINDS = words("综合 理工 师范 财经 医药 农林")
CARS = {"朗逸": "大众", "帕萨特": "大众", "迈腾": "大众", "途观L": "大众", "轩逸": "日产", "天籁": "日产",
        "卡罗拉": "丰田", "凯美瑞": "丰田", "RAV4荣放": "丰田", "思域": "本田", "雅阁": "本田", "CR-V": "本田",
        "宝马3系": "宝马", "宝马X3": "宝马", "奥迪A4L": "奥迪", "奥迪Q5L": "奥迪", "哈弗H6": "长城", "比亚迪汉": "比亚迪",
        "比亚迪宋": "比亚迪", "Model3": "特斯拉", "理想ONE": "理想", "蔚来ES6": "蔚来", "长安CS75": "长安",
        "吉利博越": "吉利", "五菱宏光": "五菱"}
CAR_CLASSES = words("小型车 紧凑型车 中型车 紧凑型SUV 中型SUV MPV")
ENERGY = words("汽油 纯电动 插电混动 油电混动")
HOTEL_BRANDS = words("希尔顿酒店 万豪酒店 洲际酒店 香格里拉大酒店 喜来登酒店 凯悦酒店 皇冠假日酒店 威斯汀酒店 全季酒店 "
                     "亚朵酒店 维也纳酒店 锦江之星")
STARS = words("五星级 四星级 三星级 经济型")


# ---------------------------------------------------------------- domains: (header, type, generator(rng, row))

def pick(pool):
    return lambda rng, row: rng.choice(pool)


def num(lo, hi, decimals=0):
    def gen(rng, row):
        x = rng.uniform(lo, hi)
        return round(x) if decimals == 0 else round(x, decimals)
    return gen


def _city_key(rng, row):
    row["_city"] = rng.choice(CITIES)
    return row["_city"] + "市"


def _company_key(rng, row):
    word = rng.choice(list(INDUSTRY))
    row["_industry"] = INDUSTRY[word]
    return rng.choice(COMPANY_PREFIX) + word + rng.choice(["", "", "股份有限公司", "集团"])


def _car_key(rng, row):
    car = rng.choice(list(CARS))
    row["_brand"] = CARS[car]
    return car


def _hotel_key(rng, row):
    row["_city"] = rng.choice(CITIES)
    return row["_city"] + rng.choice(HOTEL_BRANDS)


DOMAINS = [
    {"entity": "城市", "titles": ["主要城市经济数据", "重点城市人口与GDP统计", "城市发展指标一览"], "columns": [
        ("城市", "text", _city_key),
        ("所属省份", "text", lambda rng, row: CITY_PROVINCE[row["_city"]]),
        ("地区", "text", lambda rng, row: REGION[CITY_PROVINCE[row["_city"]]]),
        ("常住人口(万人)", "real", num(100, 2500, 1)), ("GDP(亿元)", "real", num(1000, 40000, 2)),
        ("GDP增速(%)", "real", num(2, 10, 1)), ("面积(平方公里)", "real", num(2000, 80000)),
        ("统计年份", "real", num(2010, 2019))]},
    {"entity": "公司", "titles": ["上市公司经营数据", "重点公司估值对比", "A股公司基本情况"], "columns": [
        ("公司名称", "text", _company_key), ("所属行业", "text", lambda rng, row: row["_industry"]),
        ("总部城市", "text", pick(CITIES)), ("股价(元)", "real", num(3, 300, 2)), ("市盈率", "real", num(5, 80, 1)),
        ("营业收入(亿元)", "real", num(1, 2000, 2)), ("员工人数", "real", num(200, 50000)),
        ("上市年份", "real", num(1995, 2019))]},
    {"entity": "电影", "titles": ["国内电影票房排行", "热门电影数据", "年度电影票房统计"], "columns": [
        ("电影名称", "text", pick(FILMS)), ("导演", "text", pick(DIRECTORS)), ("类型", "text", pick(GENRES)),
        ("制片地区", "text", pick(FILM_REGIONS)), ("上映年份", "real", num(2010, 2021)),
        ("票房(亿元)", "real", num(0.5, 50, 2)), ("评分", "real", num(5, 9.5, 1)), ("片长(分钟)", "real", num(85, 180))]},
    {"entity": "楼盘", "titles": ["重点城市新开盘楼盘", "楼盘销售情况", "新房项目一览"], "columns": [
        ("楼盘名称", "text", lambda rng, row: rng.choice(DEVELOPERS) + rng.choice(PROJECTS)),
        ("所在城市", "text", pick(CITIES)), ("区域", "text", pick(DISTRICTS)), ("物业类型", "text", pick(ESTATE_KINDS)),
        ("均价(元/平方米)", "real", lambda rng, row: rng.randrange(8000, 90000, 100)),
        ("建筑面积(万平方米)", "real", num(2, 120, 2)), ("总套数", "real", num(200, 5000)),
        ("开盘年份", "real", num(2012, 2019))]},
    {"entity": "书", "titles": ["畅销图书榜单", "图书销售统计", "年度好书推荐"], "columns": [
        ("书名", "text", pick(BOOKS)), ("作者", "text", pick(AUTHORS)), ("出版社", "text", pick(PUBLISHERS)),
        ("出版年份", "real", num(2000, 2019)), ("定价(元)", "real", num(19.8, 128, 1)), ("页数", "real", num(150, 900)),
        ("销量(万册)", "real", num(1, 500, 1))]},
    {"entity": "学校", "titles": ["高校基本情况", "部分高校办学数据", "大学综合实力统计"], "columns": [
        ("学校名称", "text", pick(UNIVERSITIES)), ("所在省份", "text", pick(PROVINCES)), ("类别", "text", pick(UNI_KINDS)),
        ("建校年份", "real", num(1895, 1980)), ("在校生人数", "real", num(8000, 60000)),
        ("专任教师数", "real", num(800, 5000)), ("排名", "real", num(1, 200))]},
    {"entity": "车型", "titles": ["汽车月度销量排行", "热门车型参数对比", "乘用车销量统计"], "columns": [
        ("车型", "text", _car_key), ("品牌", "text", lambda rng, row: row["_brand"]), ("级别", "text", pick(CAR_CLASSES)),
        ("能源类型", "text", pick(ENERGY)), ("指导价(万元)", "real", num(6, 60, 2)),
        ("月销量(辆)", "real", num(500, 50000)), ("油耗(升/百公里)", "real", num(4, 12, 1)),
        ("上市年份", "real", num(2015, 2020))]},
    {"entity": "酒店", "titles": ["城市酒店信息", "酒店价格与评分", "热门酒店一览"], "columns": [
        ("酒店名称", "text", _hotel_key), ("所在城市", "text", lambda rng, row: row["_city"]),
        ("星级", "text", pick(STARS)), ("房间数", "real", num(80, 800)), ("均价(元/晚)", "real", num(150, 2500)),
        ("评分", "real", num(3.5, 5, 1)), ("开业年份", "real", num(1990, 2019))]},
]


def make_table(rng: random.Random, domain: dict, taken_ids: set, number: int) -> dict:
    """A table of the domain: its key column first, then a random subset (at least one other text column and
    three real ones) of the rest, 6-14 rows with distinct keys."""
    key, rest = domain["columns"][0], domain["columns"][1:]
    texts = [c for c in rest if c[1] == "text"]
    reals = [c for c in rest if c[1] == "real"]
    chosen = rng.sample(texts, rng.randint(1, len(texts))) + rng.sample(reals, rng.randint(3, len(reals)))
    cols = [key] + sorted(chosen, key=rest.index) if rng.random() < 0.7 else [key] + rng.sample(chosen, len(chosen))
    rows, keys, n_rows = [], set(), rng.randint(6, 14)
    for _ in range(60):
        if len(rows) >= n_rows:
            break
        row: dict = {}
        for header, _, gen in domain["columns"]:          # every generator runs: later ones read '_city' etc.
            row[header] = gen(rng, row)
        if row[key[0]] in keys:
            continue
        keys.add(row[key[0]])
        cells = [row[h] for h, _, _ in cols]
        # TableQA's real cells are sometimes numeric strings: keep a few so readers cope
        rows.append([value_str(x) if ty == "real" and rng.random() < 0.03 else x
                     for x, (_, ty, _) in zip(cells, cols)])
    while (tid := f"{rng.getrandbits(128):032x}") in taken_ids:
        pass
    taken_ids.add(tid)
    year = rng.randint(2015, 2019)
    title = rng.choice([f"表{number}：{year}年{rng.choice(domain['titles'])}", f"{year}年{rng.choice(domain['titles'])}",
                        rng.choice(domain["titles"])])
    return {"id": tid, "name": f"Table_{tid}", "title": title, "header": [c[0] for c in cols],
            "types": [c[1] for c in cols], "rows": rows, "_domain": domain}


# ---------------------------------------------------------------- questions

COND = {
    ("text", 2): ["{h}是{v}", "{h}为{v}", "{h}是{v}"],
    ("text", 3): ["{h}不是{v}", "{h}不为{v}", "{h}并非{v}"],
    ("real", 0): ["{h}大于{v}", "{h}超过{v}", "{h}高于{v}", "{h}在{v}以上", "{h}多于{v}"],
    ("real", 1): ["{h}小于{v}", "{h}低于{v}", "{h}不到{v}", "{h}在{v}以下", "{h}少于{v}"],
    ("real", 2): ["{h}是{v}", "{h}等于{v}", "{h}为{v}"],
    ("real", 3): ["{h}不是{v}", "{h}不等于{v}"],
}
AND = ["{a}并且{b}", "{a}而且{b}", "{a}，同时{b}", "{a}且{b}"]
OR = ["{a}或者{b}", "{a}或{b}", "{a}，或者{b}"]
SEL = {0: ["{h}"], 1: ["平均{h}", "{h}的平均值", "平均的{h}"], 2: ["最高{h}", "{h}的最大值", "最大的{h}"],
       3: ["最低{h}", "{h}的最小值", "最小的{h}"], 5: ["{h}总和", "总{h}", "{h}的合计"]}
ASK_VALUE = ["{ce}{s}是{w}", "请问{ce}{s}是{w}？", "能告诉我{ce}{s}吗", "我想知道{ce}{s}", "帮我查一下{ce}{s}",
             "{ce}，{s}是{w}呀", "你知道{ce}{s}是{w}吗", "{ce}{s}是{w}啊"]
ASK_VALUES = ["{ce}{s}分别是{w}", "请问{ce}{s}各是{w}？", "能告诉我{ce}{s}分别是{w}吗", "列出{ce}{s}",
              "我想了解{ce}{s}"]
ASK_WHICH = ["{c}的{e}有哪些", "哪些{e}{c}？", "请列出{c}的{e}", "{c}的{e}都是哪些", "能告诉我{c}的{e}有哪些吗",
             "有哪些{e}{c}呢"]
ASK_COUNT = ["{c}的{e}有多少个", "{c}的{e}一共有几个", "请问有多少{e}{c}", "{c}的{e}数量是多少", "能告诉我{c}的{e}有几个吗"]
CN_DIGITS = "零一二三四五六七八九十"
SUFFIXES = ("股份有限公司", "集团", "出版社", "出版公司", "大学", "大酒店", "酒店", "市")
AGG_WEIGHTS = [0.5, 0.1, 0.1, 0.1, 0.1, 0.1]
OP_WEIGHTS = [0.2, 0.2, 0.45, 0.15]
CONN_WEIGHTS = [0.45, 0.35, 0.2]


def short(header: str) -> str:
    """How people say a header: without its unit, 'GDP(亿元)' -> 'GDP'."""
    return re.sub(r"[(（].*?[)）]", "", header) or header


def variant(value: str, header: str) -> str | None:
    """Another way a question may write the value, or None when there is none."""
    for suffix in SUFFIXES:
        if value.endswith(suffix) and len(value) - len(suffix) >= 2:
            return value[: -len(suffix)]
    if not re.fullmatch(r"\d+", value):
        return None
    n = int(value)
    if "年" in header and 1990 <= n <= 2029:
        return f"{n % 100:02d}年"
    if 1 <= n <= 10:
        return CN_DIGITS[n]
    if n >= 10000 and n % 1000 == 0:
        return f"{n / 10000:g}万"
    return None


def _threshold(rng, rows, c, header: str) -> str:
    """A value between the column's smallest and largest cell, so > and < select some rows but not all."""
    vals = sorted(float(r[c]) for r in rows)
    v = vals[rng.randint(1, len(vals) - 2)] if len(vals) > 2 else vals[0]
    if rng.random() < 0.5 and abs(v) >= 100 and "年" not in header:    # "大于2000", not "大于2031.47"
        digits = len(str(int(abs(v)))) - 2
        v = round(v, -digits)
    return value_str(v)


def _draw_condition(rng, rows, header, types, free, op, fits) -> list:
    """[column, op, value]: a free column the operator fits (else ==), a value from the rows."""
    cands = [c for c in free if fits(c, op)]
    if not cands:
        op, cands = 2, free
    if op == 2 and rng.random() < 0.8:                 # equality on 16115.57 is rare: prefer text columns
        cands = [c for c in cands if types[c] == "text"] or cands
    c = 0 if op == 2 and 0 in cands and rng.random() < 0.5 else rng.choice(cands)
    value = _threshold(rng, rows, c, header[c]) if op in (0, 1) else value_str(rng.choice(rows)[c])
    return [c, op, value]


def _holds(row, cond, types) -> bool:
    """Whether a row satisfies [column, op, value], compared as the executor compares (numbers on real columns)."""
    c, op, v = cond
    if types[c] == "real":
        a, b = float(row[c]), float(v)
    else:
        a, b = str(row[c]), v
    return (a > b, a < b, a == b, a != b)[op]


def make_question(rng: random.Random, table: dict, force: int | None = None) -> dict:
    """One question and its SQL. `force` = k pins agg k % 6, first op k % 4, connector k % 3, so a split's first
    questions cover every code whatever its size."""
    header, types, rows, entity = table["header"], table["types"], table["rows"], table["_domain"]["entity"]
    n = len(header)
    reals = [i for i in range(n) if types[i] == "real"]
    choose = lambda weights: rng.choices(range(len(weights)), weights)[0]
    agg = force % 6 if force is not None else choose(AGG_WEIGHTS)
    conn = force % 3 if force is not None else choose(CONN_WEIGHTS)
    ops = [force % 4 if force is not None else choose(OP_WEIGHTS)] + ([choose(OP_WEIGHTS)] if conn else [])
    if agg == 4:
        sel, kind = [0], "count"
    elif agg:
        pool = [c for c in reals if "年" not in header[c]] if agg in (1, 5) else reals    # no sum of years
        sel, kind = rng.sample(pool, 2 if rng.random() < 0.15 and len(pool) > 1 else 1), "value"
    elif rng.random() < 0.3:
        sel, kind = [0], "which"
    else:
        sel, kind = rng.sample(range(1, n), 2 if rng.random() < 0.3 else 1), "value"
    fits = lambda c, op: types[c] == "real" if op in (0, 1) else (c > 0 if op == 3 else True)
    conds, free = [], [c for c in range(n) if c not in sel]
    for k, op in enumerate(ops):
        if k == 1 and conn == 2 and conds[0][1] == 2 and types[conds[0][0]] == "text" and rng.random() < 0.4:
            c = conds[0][0]                                 # "长沙或北京的…": one column, two values
            others = sorted({str(r[c]) for r in rows} - {conds[0][2]})
            if others:
                conds.append([c, 2, rng.choice(others)])
                continue
        # an AND's second condition must hold on a row the first holds on, or the gold query returns nothing
        # (drawn independently, 24 of 61 AND questions did): redraw it, then fall back to that row's cell
        rows_ok = [r for r in rows if _holds(r, conds[0], types)] if k == 1 and conn == 1 else rows
        for _ in range(20):
            cond = _draw_condition(rng, rows, header, types, free, op, fits)
            if any(_holds(r, cond, types) for r in rows_ok):
                break
        else:
            c = rng.choice([c for c in free if types[c] == "text"] or free)
            cond = [c, 2, value_str(rng.choice(rows_ok or rows)[c])]
        free.remove(cond[0])
        conds.append(cond)

    def mention(c, v):
        alt = variant(v, header[c])
        return alt if alt is not None and rng.random() < 0.35 else v

    def cond_text(c, op, v, implicit_ok=True):
        if c == 0 and op == 2 and implicit_ok and rng.random() < 0.6:
            return mention(c, v), True
        h = short(header[c]) if rng.random() < 0.7 else header[c]
        return rng.choice(COND[types[c], op]).format(h=h, v=mention(c, v)), False

    if len(conds) == 2 and conds[0][0] == conds[1][0]:
        (c, _, v1), (_, _, v2) = conds
        if c == 0:
            text, implicit = f"{mention(c, v1)}或{mention(c, v2)}", True
        else:
            h = short(header[c])
            text, implicit = f"{h}是{mention(c, v1)}或{mention(c, v2)}", False
    else:
        parts = [cond_text(*cd, implicit_ok=k == 0) for k, cd in enumerate(conds)]
        text, implicit = parts[0][0], parts[0][1]
        if len(parts) == 2:
            text = rng.choice(AND if conn == 1 else OR).format(a=text, b=parts[1][0])
            implicit = False

    if kind == "count":
        question = rng.choice(ASK_COUNT).format(c=text, e=entity)
    elif kind == "which":
        question = rng.choice(ASK_WHICH).format(c=text, e=entity)
    else:
        s = [rng.choice(SEL[agg]).format(h=short(header[c]) if rng.random() < 0.7 else header[c]) for c in sel]
        s = s[0] if len(s) == 1 else rng.choice(["{}和{}", "{}以及{}", "{}、{}"]).format(*s)
        ce = f"{text}的" if implicit else f"{text}的{entity}"
        w = "多少" if agg or any(types[c] == "real" for c in sel) else rng.choice(["什么", "哪个"])
        question = rng.choice(ASK_VALUE if len(sel) == 1 else ASK_VALUES).format(ce=ce, s=s, w=w)
    sql = {"agg": [agg] * len(sel), "cond_conn_op": conn, "sel": sel, "conds": conds}
    return {"question": question, "table_id": table["id"], "sql": sql}


# ---------------------------------------------------------------- the data set

def generate(out_dir, seed: int = 0, n_tables: int = 40, n_train: int = 3000, n_val: int = 200, n_test: int = 200,
             n_eval_tables: int | None = None) -> dict:
    """Write the sample under out_dir; returns {split: {"questions": n, "tables": n}}. `n_tables` tables
    for train, `n_eval_tables` (default max(2, n_tables // 4)) new ones each for val and test, drawn from
    the same domains. Deterministic for a seed."""
    out_dir = Path(out_dir)
    n_eval_tables = n_eval_tables or max(2, n_tables // 4)
    taken: set = set()
    summary = {}
    for split, n_q, n_t in (("train", n_train, n_tables), ("val", n_val, n_eval_tables),
                            ("test", n_test, n_eval_tables)):
        rng = random.Random(f"kexue-nl2sql-sample-{seed}-{split}")
        start = rng.randrange(len(DOMAINS))
        tables = [make_table(rng, DOMAINS[(start + i) % len(DOMAINS)], taken, i + 1) for i in range(n_t)]
        order = rng.sample(range(n_t), n_t)
        questions = [make_question(rng, tables[order[i % n_t]], force=i if i < 12 else None) for i in range(n_q)]
        rng.shuffle(questions)
        if split == "test":
            questions = [{"question": q["question"], "table_id": q["table_id"]} for q in questions]
        d = out_dir / split
        plain = {t["id"]: {k: v for k, v in t.items() if not k.startswith("_")} for t in tables}
        dump = lambda objs: "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs)
        io.write_text(d / f"{split}.tables.json", dump(plain.values()))
        io.write_text(d / f"{split}.json", dump(questions))
        write_db(d / f"{split}.db", plain)
        summary[split] = {"questions": len(questions), "tables": len(tables)}
    return summary


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m kexue.nl2sql.sample", description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-tables", type=int, default=40)
    p.add_argument("--n-train", type=int, default=3000)
    p.add_argument("--n-val", type=int, default=200)
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--n-eval-tables", type=int, default=None)
    a = p.parse_args(argv)
    summary = generate(a.out_dir, a.seed, a.n_tables, a.n_train, a.n_val, a.n_test, a.n_eval_tables)
    for split, s in summary.items():
        print(f"{a.out_dir}/{split}: {s['questions']} questions on {s['tables']} tables")


if __name__ == "__main__":
    main()
