"""Word lists the detectors match against: surnames, place suffixes, ethnic groups, religions, medical terms."""

from __future__ import annotations

from functools import lru_cache

# The most frequent Chinese surnames (single and compound), simplified script; traditional forms are
# added at load time so Taiwanese and Hong Kong registries match too.
SINGLE_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
    "霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚"
    "岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟"
    "邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井"
    "祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹"
    "诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由傅阎萧赖洪"
)
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
    "轩辕",
    "令狐",
    "钟离",
    "澹台",
    "端木",
    "西门",
    "南宫",
    "百里",
    "呼延",
    "万俟",
    "拓跋",
)

# A value ending in one of these is a place, facility or organisation, not a person.
PLACE_SUFFIXES = (
    "省市区县镇乡村庄屯寨湾口井路街巷道桥门山岭峰河江湖海港湾岛洲园苑院馆站场厂店局所处部司社校库塔寺庙宫殿楼阁"
    "坊坝堡堤塘池泉沟谷坡林田地城关营州府台中心"
)
PLACE_WORDS = (
    "公园",
    "广场",
    "医院",
    "学校",
    "小学",
    "中学",
    "大学",
    "公司",
    "银行",
    "车站",
    "机场",
    "花园",
    "小区",
    "大厦",
)

ETHNIC_GROUPS = [
    "汉族",
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "高山族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "塔吉克族",
    "怒族",
    "乌孜别克族",
    "俄罗斯族",
    "鄂温克族",
    "德昂族",
    "保安族",
    "裕固族",
    "京族",
    "塔塔尔族",
    "独龙族",
    "鄂伦春族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
    "穿青人",
    "其他",
    "外国血统中国籍人士",
]

RELIGIONS = [
    "佛教",
    "道教",
    "伊斯兰教",
    "天主教",
    "基督教",
    "基督新教",
    "东正教",
    "藏传佛教",
    "汉传佛教",
    "南传佛教",
    "犹太教",
    "印度教",
    "锡克教",
    "无宗教信仰",
    "其他宗教",
    "Buddhism",
    "Taoism",
    "Islam",
    "Catholicism",
    "Christianity",
    "Protestantism",
    "Orthodox",
    "Judaism",
    "Hinduism",
    "Sikhism",
    "Buddhist",
    "Muslim",
    "Catholic",
    "Christian",
    "Protestant",
    "Jewish",
    "Hindu",
    "Sikh",
    "Atheist",
    "Agnostic",
    "None",
]

MEDICAL_SUFFIXES = (
    "病",
    "炎",
    "癌",
    "瘤",
    "症",
    "综合征",
    "骨折",
    "感染",
    "损伤",
    "中毒",
    "梗死",
    "梗塞",
    "出血",
    "衰竭",
    "硬化",
    "结石",
    "畸形",
    "贫血",
    "哮喘",
    "结核",
    "艾滋",
    "痴呆",
    "白血病",
    "溃疡",
    "疝",
    "囊肿",
    "息肉",
    "休克",
    "障碍",
    "妊娠",
    "过敏",
    "高血压",
    "糖尿病",
    "脑卒中",
    "心绞痛",
)
MEDICAL_WORDS_EN = (
    "disease",
    "syndrome",
    "cancer",
    "carcinoma",
    "tumou?r",
    "fracture",
    "infection",
    "disorder",
    "diabetes",
    "hypertension",
    "asthma",
    "pneumonia",
    "hepatitis",
    "influenza",
    "stroke",
    "depression",
    "dementia",
    "anemia",
    "anaemia",
    "tuberculosis",
    "arthritis",
    "bronchitis",
    "[a-z]+itis",
    "[a-z]+oma",
    "injury",
)

# Values that mean "nothing recorded"; they neither count for nor against a detector.
PLACEHOLDERS = (
    "",
    "-",
    "--",
    "/",
    "无",
    "空",
    "不详",
    "未知",
    "暂无",
    "null",
    "none",
    "n/a",
    "na",
    "nan",
    "?",
    "0",
)

PROVINCES = [
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
]

PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"


@lru_cache(maxsize=1)
def surnames() -> tuple[list[str], list[str]]:
    """Single and compound surnames in simplified and traditional script."""
    from opencc import OpenCC

    to_trad = OpenCC("s2t").convert
    single = set(SINGLE_SURNAMES) | {to_trad(c) for c in SINGLE_SURNAMES}
    compound = set(COMPOUND_SURNAMES) | {to_trad(c) for c in COMPOUND_SURNAMES}
    return sorted(single), sorted(compound)


def alternation(words: list[str] | tuple[str, ...]) -> str:
    """An RE2 alternation of literal words, longest first so compound words win.

    Ties are broken by the word itself, so the pattern is the same in every process (not set order).
    """
    import re

    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))
