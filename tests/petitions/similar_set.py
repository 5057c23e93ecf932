"""A test set for similar-petition search (data only; see test_similar.py).

ORIGINALS are petitions already on the site. QUERIES are what another creator
types for the same request, worded their own way: paraphrases, the same ask in
other words, the same person named differently, abbreviations spelled out.
Each query names the original it should find. DISTRACTORS are petitions on
nearby topics (often sharing words with a query) that a query must not push
its original out of the top three for.

Texts respect the petition limits (action <= 80, background <= 300 characters).
"""

from __future__ import annotations

# key -> (action, background)
ORIGINALS: dict[str, tuple[str, str]] = {
    "avery": (
        "Pardon Steven Avery and Brendan Dassey",
        "Both men were convicted in Manitowoc County, Wisconsin. The documentary Making a "
        "Murderer showed serious flaws in the investigation and in how police questioned "
        "a 16-year-old without a lawyer.",
    ),
    "peltier": (
        "Grant clemency to Leonard Peltier",
        "Leonard Peltier has been in prison since 1977 for the deaths of two FBI agents on "
        "the Pine Ridge reservation. Amnesty International and many others have questioned "
        "the fairness of his trial.",
    ),
    "snowden": (
        "Pardon Edward Snowden",
        "He revealed the mass surveillance programmes of the National Security Agency. "
        "He is a national hero and should be pardoned for his whistleblowing.",
    ),
    "drug_sentences": (
        "Commute the sentences of non-violent drug offenders",
        "Thousands of people are serving decades in federal prison for non-violent drug "
        "offences under mandatory minimum laws that Congress has since changed.",
    ),
    "garvey": (
        "Posthumously pardon Marcus Garvey",
        "The Pan-Africanist leader was convicted of mail fraud in 1923 in a prosecution "
        "driven by the Bureau of Investigation. Clear his name.",
    ),
    "syed": (
        "Give Adnan Syed a new trial",
        "The Serial podcast showed that an alibi witness was never called and that the "
        "mobile phone evidence against him was unreliable.",
    ),
    "petrol_cars": (
        "Ban the sale of new petrol and diesel cars by 2030",
        "Road transport is the largest source of greenhouse gas emissions. Other countries "
        "are ending sales of combustion engine cars and we should too.",
    ),
    "twenty_mph": (
        "Reduce the speed limit to 20mph on all residential streets",
        "Slower traffic saves lives. Children should be able to walk and cycle to school "
        "safely, and 20mph zones cut serious injuries by about 40%.",
    ),
    "fireworks": (
        "Ban the sale of fireworks to the public",
        "Fireworks cause distress to animals and to veterans with PTSD, and lead to "
        "injuries every year. Only organised displays should be allowed.",
    ),
    "circus": (
        "Ban the use of wild animals in travelling circuses",
        "Wild animals such as lions, tigers and elephants suffer in small cages and "
        "constant travel. Many countries have already banned it.",
    ),
    "badger_cull": (
        "Stop the badger cull",
        "Culling badgers is cruel, expensive and not backed by the science on bovine "
        "tuberculosis. Tens of thousands of badgers have been shot.",
    ),
    "tuition": (
        "Abolish university tuition fees",
        "Students leave university with debts of more than 40,000 pounds. Higher education "
        "is a public good and should be paid for from general taxation.",
    ),
    "cpr": (
        "Teach first aid and CPR in every secondary school",
        "Thousands of people die of cardiac arrest outside hospital each year. If more "
        "bystanders knew CPR, many of them would survive.",
    ),
    "bsl_gcse": (
        "Introduce a GCSE in British Sign Language",
        "Deaf pupils and their classmates should be able to gain a qualification in sign "
        "language, the first language of thousands of deaf people.",
    ),
    "medical_cannabis": (
        "Legalise medical cannabis for children with severe epilepsy",
        "Some children with rare forms of epilepsy have hundreds of seizures a day. "
        "Cannabis oil has reduced them when nothing else worked.",
    ),
    "brain_tumour": (
        "Fund more research into brain tumours",
        "Brain tumours kill more children and adults under 40 than any other cancer, yet "
        "receive about 1% of national spending on cancer research.",
    ),
    "nurses_pay": (
        "Give nurses a fair pay rise",
        "Nurses' pay has fallen in real terms for a decade. Hospitals cannot fill vacancies "
        "and staff are leaving the health service.",
    ),
    "tax_returns": (
        "Require presidential candidates to publish their tax returns",
        "Voters deserve to know about the finances and conflicts of interest of anyone "
        "who wants to be President.",
    ),
    "armenian_genocide": (
        "Recognise the Armenian genocide",
        "In 1915 the Ottoman Empire killed up to 1.5 million Armenians. The United States "
        "should formally call it a genocide.",
    ),
    "bieber": (
        "Deport Justin Bieber and revoke his green card",
        "He is a dangerous, reckless, destructive and drug abusing singer who is a bad "
        "influence on the youth of this country.",
    ),
    "death_star": (
        "Secure resources and funding, and begin construction of a Death Star by 2016",
        "Focusing our defence resources on a space superiority platform will spur job "
        "creation in construction, engineering and space exploration.",
    ),
    "phone_unlocking": (
        "Make unlocking mobile phones legal",
        "The Librarian of Congress decided that unlocking a phone you own to use it with "
        "another carrier is a crime. Consumers should not face penalties for this.",
    ),
    "election_holiday": (
        "Make Election Day a federal holiday",
        "Millions of Americans cannot vote because they have to work on a Tuesday. A "
        "national holiday would raise turnout.",
    ),
    "gmo_labels": (
        "Require labels on genetically engineered food",
        "Consumers have a right to know whether their food contains genetically modified "
        "ingredients, as they do in 64 other countries.",
    ),
    "eu_referendum": (
        "Hold a second referendum on leaving the European Union",
        "The public should have the final say on the withdrawal deal now that the terms are known.",
    ),
    "dog_breeding": (
        "Ban puppy farms and the sale of puppies by third parties",
        "Puppies bred in poor conditions are sold by dealers and pet shops, often sick and "
        "taken from their mothers too young.",
    ),
    "plastic_bottles": (
        "Introduce a deposit return scheme for plastic bottles",
        "Millions of plastic bottles are littered or burnt every day. A small refundable "
        "deposit gets most of them back for recycling.",
    ),
    "assisted_dying": (
        "Legalise assisted dying for terminally ill adults",
        "Dying people with mental capacity should be allowed to choose to end their "
        "suffering with the help of a doctor, with safeguards.",
    ),
    "hs2": (
        "Cancel the HS2 high speed railway",
        "The cost of the new line between London and Birmingham has risen to more than "
        "100 billion pounds. Spend the money on local transport.",
    ),
    "flint": (
        "Provide clean drinking water to the people of Flint, Michigan",
        "Lead from old pipes has poisoned the city's water supply. Residents, including "
        "thousands of children, need safe water and new pipes now.",
    ),
}

# Petitions on nearby topics that share words with the queries.
DISTRACTORS: list[tuple[str, str]] = [
    (
        "Compensate people wrongly convicted in Wisconsin fairly",
        "Wisconsin pays at most 25,000 dollars to someone exonerated after years in prison, "
        "one of the lowest amounts in the country.",
    ),
    (
        "Record every police interrogation of a child on video",
        "False confessions from teenagers questioned without a parent or lawyer present "
        "have led to wrongful convictions.",
    ),
    (
        "Commute Chelsea Manning's sentence",
        "She leaked military documents that exposed wrongdoing and has already served "
        "years in a military prison, longer than any other whistleblower.",
    ),
    (
        "Pardon Alan Turing and every man convicted of gross indecency",
        "Thousands of gay men were convicted under laws that have since been repealed. "
        "They deserve the same pardon Turing received.",
    ),
    (
        "Abolish the federal death penalty",
        "Innocent people have been sentenced to death. The federal government should end "
        "executions and commute every death sentence.",
    ),
    (
        "Cut fuel duty on petrol and diesel",
        "Drivers and hauliers pay some of the highest fuel prices in Europe. Cutting fuel "
        "duty would lower the cost of living.",
    ),
    (
        "Build more electric car charging points in rural areas",
        "Drivers in the countryside cannot switch to electric cars while the nearest "
        "public charger is miles away.",
    ),
    (
        "Raise the motorway speed limit to 80mph",
        "Cars are much safer than when the 70mph limit was set in 1965.",
    ),
    (
        "Vaccinate cattle against bovine TB",
        "Farmers lose thousands of cattle to tuberculosis every year. A cattle vaccine "
        "would protect herds and farm incomes.",
    ),
    (
        "Make the RSPCA a prosecuting authority for all animal cruelty",
        "Animal cruelty cases are not taken seriously. Give the charity stronger powers to "
        "prosecute people who harm animals.",
    ),
    (
        "Write off student loans for nurses and midwives",
        "Nurses and midwives trained at their own expense to work in the health service "
        "and should not repay student debt.",
    ),
    (
        "Give free school meals to every primary school pupil",
        "Hungry children cannot learn. Universal free school meals would help families "
        "with the cost of living.",
    ),
    (
        "Recognise British Sign Language as an official language",
        "BSL is the first language of 87,000 deaf people, but it has no legal status in England.",
    ),
    (
        "Legalise cannabis for recreational use",
        "Prohibition has failed. Regulate and tax cannabis as many US states and Canada have done.",
    ),
    (
        "Make all cancer drugs available on the NHS",
        "Patients are refused life-extending cancer drugs that are available in other "
        "countries because of their cost.",
    ),
    (
        "Scrap hospital car parking charges",
        "Patients, visitors and staff pay to park at hospitals while they are ill or at "
        "work caring for others.",
    ),
    (
        "Lower the voting age to 16",
        "People of 16 can work, pay taxes and join the army. They should be able to vote "
        "in every election.",
    ),
    (
        "Fund a crewed mission to Mars by 2030",
        "Space exploration inspires new engineers and scientists and creates jobs.",
    ),
    (
        "Ban mobile phones in schools",
        "Phones distract pupils from learning and fuel bullying on social media during "
        "the school day.",
    ),
    (
        "Revoke Article 50 and remain in the EU",
        "Leaving the European Union will harm the economy. Cancel Brexit now.",
    ),
    (
        "Ban single-use plastic straws and cutlery",
        "Plastic waste is killing marine life. Reusable alternatives exist for almost "
        "every single-use plastic item.",
    ),
    (
        "Declare a climate emergency and reach net zero by 2030",
        "Emissions must fall much faster than current plans allow to keep warming below "
        "1.5 degrees.",
    ),
    (
        "Investigate the Manitowoc County Sheriff's Department",
        "Officers from the county that Steven Avery had sued took part in searching his "
        "property. Wisconsin must look into how the investigation was run.",
    ),
    (
        "Prosecute Edward Snowden for espionage",
        "He stole classified documents from the NSA and fled to Russia. He must stand "
        "trial in the United States.",
    ),
    (
        "Deport Piers Morgan",
        "The British television host is waging a campaign against the Second Amendment "
        "on American television.",
    ),
    (
        "Reduce university tuition fees to 6,000 pounds a year",
        "Fees of more than 9,000 pounds put students off applying. Halve them and fund "
        "universities with a graduate tax.",
    ),
    (
        "Give junior doctors a fair pay rise",
        "Junior doctors' pay has fallen by a quarter since 2008 and many are leaving to "
        "work in Australia.",
    ),
    (
        "Put a defibrillator in every school",
        "A school defibrillator can restart the heart of a pupil, teacher or visitor who "
        "has a cardiac arrest.",
    ),
    (
        "Replace every lead water pipe in Chicago",
        "Chicago has more lead service lines than any other US city. Children drinking "
        "the water are at risk.",
    ),
    (
        "Ban genetically modified crops in England",
        "GM crops threaten wildlife and organic farmers. Keep England's fields free of them.",
    ),
    (
        "Fund hospice care for everyone who is terminally ill",
        "Hospices rely on charity for most of their income. Every dying person should get "
        "palliative care at the end of their life.",
    ),
    (
        "Build HS2 in full, to Leeds and Manchester",
        "Cutting the eastern leg of the high speed line leaves the North with slow, "
        "crowded trains.",
    ),
    (
        "Register every eligible voter automatically",
        "Millions of Americans miss elections because they were not registered in time.",
    ),
    (
        "Build a space elevator",
        "A cable to orbit would cut the cost of reaching space and create thousands of "
        "engineering jobs.",
    ),
    (
        "Ban sky lanterns",
        "Sky lanterns start fires and kill farm animals that eat the wire frames.",
    ),
    (
        "Declassify the FBI files on the Pine Ridge reservation shootings",
        "Tens of thousands of pages about the 1975 deaths of two FBI agents are still secret.",
    ),
]

# (original key, query action, query background)
QUERIES: list[tuple[str, str, str]] = [
    (
        "avery",
        "Free Steve Avery and Brendan Dassey",
        "Watch Making a Murderer: the two were wrongly convicted of murder in Wisconsin "
        "and should be released.",
    ),
    (
        "avery",
        "Clemency for the Making a Murderer defendants",
        "An uncle and his nephew were imprisoned for life after an investigation led by "
        "a county sheriff's office with a grudge. The documentary shows they are innocent.",
    ),
    (
        "avery",
        "Exonerate Brendan Dassey",
        "He was 16, had learning difficulties, and confessed after hours of questioning "
        "by detectives with no parent or attorney present.",
    ),
    (
        "peltier",
        "Free Leonard Peltier before he dies in prison",
        "The Native American activist is in his seventies and seriously ill. He has "
        "always said he did not shoot the agents.",
    ),
    (
        "snowden",
        "Grant a full pardon to NSA whistleblower Ed Snowden",
        "Exposing illegal spying on Americans was a public service, not a crime. Let him "
        "come home.",
    ),
    (
        "drug_sentences",
        "Clemency for nonviolent drug prisoners serving mandatory minimums",
        "Long federal sentences handed down for drug crimes under the old rules should "
        "be shortened by the President.",
    ),
    (
        "garvey",
        "Exonerate Marcus Mosiah Garvey",
        "The Jamaican-born civil rights leader was wrongly convicted of fraud. A "
        "posthumous pardon would correct a historic injustice.",
    ),
    (
        "syed",
        "Retrial for Adnan Syed, convicted of killing Hae Min Lee",
        "A podcast revealed a missed alibi and doubtful cell tower data. He deserves a "
        "fair hearing in court.",
    ),
    (
        "petrol_cars",
        "End sales of fossil fuel cars in 2030",
        "Stop selling new vehicles that run on petrol or diesel by the end of the decade "
        "to cut emissions from road transport.",
    ),
    (
        "twenty_mph",
        "Make 20 mph the default limit where people live",
        "Lower speeds in housing areas protect pedestrians, cyclists and children on "
        "their way to school.",
    ),
    (
        "fireworks",
        "Restrict fireworks to licensed public displays only",
        "Loud fireworks terrify dogs, horses and people with post-traumatic stress every "
        "November. Stop selling them in shops.",
    ),
    (
        "circus",
        "End circus performances with lions, tigers and elephants",
        "Keeping wild animals in cages and trailers for entertainment is cruel and outdated.",
    ),
    (
        "badger_cull",
        "End the killing of badgers to control bovine TB",
        "Shooting badgers has not stopped tuberculosis in cattle and the scientists say "
        "the cull should end.",
    ),
    (
        "tuition",
        "Make university education free for all students",
        "Graduates start their working lives with huge student debt. Scrap fees and fund "
        "higher education through taxes, as in Scotland and Germany.",
    ),
    (
        "cpr",
        "Make lifesaving skills such as CPR part of the school curriculum",
        "Pupils should learn how to help someone whose heart has stopped, so that more "
        "people survive a cardiac arrest.",
    ),
    (
        "bsl_gcse",
        "Let pupils study BSL as a GCSE subject",
        "Schools should offer a qualification in sign language to deaf and hearing students alike.",
    ),
    (
        "medical_cannabis",
        "Allow doctors to prescribe cannabis oil to epileptic kids",
        "Families of children with constant seizures should not have to break the law or "
        "go abroad to get the medicine that helps.",
    ),
    (
        "brain_tumour",
        "Increase funding for brain cancer research",
        "Brain cancer is the biggest cancer killer of young people but research into it "
        "gets a tiny share of the money.",
    ),
    (
        "nurses_pay",
        "Raise NHS nursing salaries",
        "Nursing staff have had years of below-inflation pay awards and are quitting the "
        "profession. Pay them properly.",
    ),
    (
        "tax_returns",
        "Make anyone running for President disclose their tax returns",
        "Candidates for the highest office must be open about their income, their "
        "business interests and any foreign debts.",
    ),
    (
        "armenian_genocide",
        "Officially acknowledge the 1915 killing of Armenians as genocide",
        "The mass murder of Armenians by the Ottoman government must be named for what it was.",
    ),
    (
        "bieber",
        "Send Justin Bieber back to Canada",
        "The Canadian pop star keeps breaking the law and setting a bad example. Take away "
        "his permanent residence.",
    ),
    (
        "death_star",
        "Build a Death Star",
        "A moon-sized battle station would create thousands of engineering jobs and keep "
        "the country safe.",
    ),
    (
        "phone_unlocking",
        "Legalise unlocking your own cell phone",
        "It should not be illegal to unlock a phone you paid for so that you can switch "
        "to another carrier.",
    ),
    (
        "election_holiday",
        "Give every worker the day off to vote in national elections",
        "Turn Election Day into a national holiday so that no one has to choose between "
        "a day's pay and voting.",
    ),
    (
        "gmo_labels",
        "Mandatory GMO labelling on groceries",
        "Shoppers should be told when a product contains genetically modified organisms.",
    ),
    (
        "eu_referendum",
        "Give the people a final say on the Brexit deal",
        "Put the withdrawal agreement to a public vote, with the option to remain in the EU.",
    ),
    (
        "dog_breeding",
        "Stop pet shops and dealers selling puppies",
        "Lucy's Law: puppies should only be sold by their breeder, with their mother "
        "present, to end cruel puppy farming.",
    ),
    (
        "plastic_bottles",
        "Bring in a refundable deposit on drinks bottles and cans",
        "Paying a few pence back when you return a bottle would stop plastic litter and "
        "raise recycling rates.",
    ),
    (
        "assisted_dying",
        "Give terminally ill people the right to die with dignity",
        "Adults with a terminal illness and six months to live should be able to ask a "
        "doctor for help to end their lives.",
    ),
    (
        "hs2",
        "Scrap High Speed 2",
        "The rail line from London to Birmingham and the North is billions over budget. "
        "Stop it now.",
    ),
    (
        "flint",
        "Fix the Flint water crisis",
        "Families in Flint have been drinking lead-contaminated tap water. Replace the "
        "lead pipes and supply bottled water until then.",
    ),
    # Harder: few words in common, a near-miss distractor, a misspelt name.
    (
        "avery",
        "Justice for Stephen Avery",
        "The Netflix series shows that the evidence against him was planted by police.",
    ),
    (
        "snowden",
        "Let Snowden come home without facing prosecution",
        "The man who exposed NSA spying deserves clemency, not a prison cell.",
    ),
    (
        "peltier",
        "Release the Native American activist jailed since the 1970s",
        "He was convicted of killing two FBI agents at Pine Ridge after a trial that "
        "Amnesty called unfair.",
    ),
    (
        "drug_sentences",
        "Free federal prisoners serving life for marijuana",
        "People are serving life without parole for cannabis offences that are now legal "
        "in many states.",
    ),
    (
        "tuition",
        "Scrap student fees",
        "Going to uni should not leave young people with a lifetime of debt.",
    ),
    (
        "syed",
        "Free Adnan",
        "Serial season one showed he never got a fair trial.",
    ),
    (
        "gmo_labels",
        "Tell us what is in our food: label GM ingredients",
        "Food made from GM crops is sold without any label.",
    ),
    (
        "eu_referendum",
        "A People's Vote on Brexit",
        "Let the country decide whether to accept the deal or stay in the EU.",
    ),
    # Names misspelt, as people type them.
    (
        "avery",
        "Release Brendon Dassy",
        "The teenager from Manitowoc was coerced into confessing to a crime he did not commit.",
    ),
    (
        "snowden",
        "Pardon Edward Snowdon",
        "He told the world about the surveillance of ordinary citizens and now lives in "
        "exile in Moscow.",
    ),
]
